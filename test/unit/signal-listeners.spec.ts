import 'reflect-metadata';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { GracefulModule } from '../../lib/index.js';
import { signalSubscribers } from '../../lib/process/signal.hub.js';

@Module({ imports: [GracefulModule.forRoot({ logger: false, platform: 'none' })] })
class AppModule {}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('signal listeners (issue 16, item 4)', () => {
  it('a module compiled and never started leaves no listener behind; started applications share one listener per signal, gone once closed', async () => {
    const before = process.listenerCount('SIGTERM');
    const idle = await NestFactory.create(AppModule, { logger: false });
    await nextTurn();
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(signalSubscribers('SIGTERM')).toBe(0);

    const first = await NestFactory.create(AppModule, { logger: false });
    const second = await NestFactory.create(AppModule, { logger: false });
    await Promise.all([first.init(), second.init()]);
    await nextTurn();
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(signalSubscribers('SIGTERM')).toBe(2);

    await first.close();
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    await second.close();
    expect(process.listenerCount('SIGTERM')).toBe(before);
    await idle.close();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});

@Module({})
class EmptyModule {}

/** An application whose scan waits for an async dynamic module imported before GracefulModule: until `open()`, no provider exists. */
function gated(graceful: DynamicModule) {
  let open!: () => void;
  const gate = new Promise<DynamicModule>((resolve) => (open = () => resolve({ module: EmptyModule })));
  @Module({ imports: [gate, graceful] })
  class GatedModule {}
  return { GatedModule, open };
}

describe('signals from the first instant of NestFactory.create() (issue 16, item 4)', () => {
  it.each([
    ['forRoot()', GracefulModule.forRoot({ logger: false, platform: 'none' })],
    [
      'forRootAsync() (the default signals until its factory resolves)',
      GracefulModule.forRootAsync({ useFactory: () => ({ logger: false, platform: 'none' }) }),
    ],
  ])('with %s, the module listens as create() begins, before any provider exists; an application never started leaves nothing', async (_how, graceful) => {
    const before = process.listenerCount('SIGTERM');
    const { GatedModule, open } = gated(graceful);
    const creating = NestFactory.create(GatedModule, { logger: false });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(signalSubscribers('SIGTERM')).toBe(1);
    expect(signalSubscribers('SIGINT')).toBe(1);
    open();
    const app = await creating;
    // The sequence took the listening over from the window: still one subscriber.
    expect(signalSubscribers('SIGTERM')).toBe(1);
    await nextTurn();
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(signalSubscribers('SIGTERM')).toBe(0);
    await app.close();
  });

  it('two applications created at once: each create() listens from its start, and each module takes over its own', async () => {
    const before = process.listenerCount('SIGTERM');
    const one = gated(GracefulModule.forRoot({ logger: false, platform: 'none' }));
    const two = gated(GracefulModule.forRoot({ logger: false, platform: 'none' }));
    const creating = [NestFactory.create(one.GatedModule, { logger: false }), NestFactory.create(two.GatedModule, { logger: false })];
    // One process listener, two subscriptions (one per create() call).
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(signalSubscribers('SIGTERM')).toBe(2);
    two.open();
    one.open();
    const apps = await Promise.all(creating);
    expect(signalSubscribers('SIGTERM')).toBe(2);
    await Promise.all(apps.map((app) => app.init()));
    await nextTurn();
    expect(signalSubscribers('SIGTERM')).toBe(2);
    await Promise.all(apps.map((app) => app.close()));
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('create() of a module graph without GracefulModule listens to nothing, even once forRoot() was called in the process', async () => {
    const before = process.listenerCount('SIGTERM');
    const creating = NestFactory.create(EmptyModule, { logger: false });
    expect(process.listenerCount('SIGTERM')).toBe(before);
    await (await creating).close();
  });
});

describe('a @nestjs/testing module (built without NestFactory, issue 16 item 4)', () => {
  it('compiled and never started leaves no listener; its application listens once init() starts it, and not after close()', async () => {
    const before = process.listenerCount('SIGTERM');
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(signalSubscribers('SIGTERM')).toBe(0);

    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(signalSubscribers('SIGTERM')).toBe(1);
    await app.close();
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(signalSubscribers('SIGTERM')).toBe(0);
  });
});
