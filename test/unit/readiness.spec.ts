import 'reflect-metadata';
import { Controller, Get, Injectable, Module, Scope, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import { Observable } from 'rxjs';
import fc from 'fast-check';
import { GracefulHealthIndicator, GracefulLifecycleService, GracefulModule, OnShutdown, WarmUp, type GracefulEvent, type WarmUpContext } from 'nestjs-graceful';
import { LifecycleRecord, type LifecycleState } from '../../lib/lifecycle/lifecycle.record.js';
import { LIFECYCLE_EDGES } from '../support/sequence.js';

type Op = ['serve'] | ['hold'] | ['release', number] | ['unready'] | ['ready'] | ['advance', 'draining' | 'stopping' | 'stopped' | 'failed'];
const op = fc.oneof(
  fc.constant<Op>(['serve']),
  fc.constant<Op>(['hold']),
  fc.nat(5).map<Op>((i) => ['release', i]),
  fc.constant<Op>(['unready']),
  fc.constant<Op>(['ready']),
  fc.constantFrom<Op>(['advance', 'draining'], ['advance', 'stopping'], ['advance', 'stopped'], ['advance', 'failed']),
);

describe('the lifecycle record', () => {
  it('under any sequence of serve, holds, markUnready/markReady and shutdown moves, moves only along the allowed edges, starts once, and is ready exactly when nothing holds it', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const record = new LifecycleRecord();
        const states: LifecycleState[] = [];
        const events: GracefulEvent[] = [];
        record.state$.subscribe((state) => states.push(state));
        record.events$.subscribe((event) => events.push(event));
        const releases: Array<() => void> = [];
        let served = false;
        let unready = false;
        let shutdown = false;
        let startedAt = -1;
        for (const [what, arg] of ops) {
          if (what === 'serve') {
            record.serve();
            served = true;
          } else if (what === 'hold') releases.push(record.hold(`work ${releases.length}`));
          else if (what === 'release') releases[arg]?.();
          else if (what === 'unready') {
            record.markUnready('lost');
            if (!shutdown) unready = true;
          } else if (what === 'ready') {
            record.markReady();
            if (!shutdown) unready = false;
          } else {
            record.advance(arg);
            // A move the machine refuses (stopping before draining...) changes nothing.
            shutdown ||= ['draining', 'stopping', 'stopped', 'failed'].includes(record.state);
          }
          if (startedAt < 0 && record.started) startedAt = states.length;
          const holding = record.holding.length > 0;
          if (!shutdown) {
            // Before the shutdown: starting until served with nothing held, then ready exactly when nothing holds it.
            if (!record.started) expect(record.state).toBe('starting');
            else expect(record.state).toBe(holding || unready ? 'unready' : 'ready');
            if (record.started) expect(served).toBe(true);
          }
        }
        for (let i = 1; i < states.length; i++) expect(LIFECYCLE_EDGES).toContain(`${states[i - 1]}>${states[i]}`);
        expect(events.filter((event) => event.type === 'started').length).toBe(record.started ? 1 : 0);
        // Never starting again once started.
        if (startedAt >= 0) expect(states.slice(startedAt)).not.toContain('starting');
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the reason of markUnready() from the startup on, and changes nothing once the shutdown began', () => {
    const record = new LifecycleRecord();
    record.markUnready('cache cold');
    record.serve();
    expect(record.state).toBe('unready');
    expect(record.unreadyReason).toBe('cache cold');
    record.advance('draining');
    record.markReady();
    expect(record.state).toBe('draining');
    expect(record.unreadyReason).toBe('cache cold');
  });
});

class MemoryLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: string) {
    this.lines.push(`log ${message}`);
  }
  warn(message: string) {
    this.lines.push(`warn ${message}`);
  }
  error(message: string) {
    this.lines.push(`error ${message}`);
  }
}

let finishWarmUp: () => void = () => undefined;

@Injectable()
class Cache {
  seen?: AbortSignal;
  @WarmUp({ timeout: 10_000 })
  async fill({ signal }: WarmUpContext) {
    this.seen = signal;
    await new Promise<void>((resolve) => (finishWarmUp = resolve));
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerRequest {
  @WarmUp()
  warm() {}
}

async function compile(providers: unknown[]) {
  const logger = new MemoryLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [GracefulModule.forRoot({ logger, signals: [], platform: 'none' })],
    providers: providers as never[],
  }).compile();
  return { moduleRef, logger };
}

describe('@WarmUp() and holdReadiness() in a testing module (no HTTP server: the app serves once init() ends)', () => {
  it('keeps readiness and isStarted() down until the warm-up ends; liveness stays up', async () => {
    const { moduleRef } = await compile([Cache]);
    const health = moduleRef.get(GracefulHealthIndicator);
    const lifecycle = moduleRef.get(GracefulLifecycleService);
    const ended = new Promise<GracefulEvent>((resolve) => lifecycle.events$.subscribe((event) => event.type === 'readiness-hold-end' && resolve(event)));
    await moduleRef.init();
    expect(lifecycle.state).toBe('starting');
    expect(health.isReady('graceful', { details: true })).toMatchObject({ graceful: { status: 'down', state: 'starting', waitingFor: ['Cache.fill'] } });
    expect(health.isStarted()).toEqual({ graceful: { status: 'down', state: 'starting' } });
    expect(health.isAlive()).toMatchObject({ graceful: { status: 'up' } });
    expect(moduleRef.get(Cache).seen?.aborted).toBe(false);
    finishWarmUp();
    expect(await ended).toMatchObject({ name: 'Cache.fill', outcome: 'ok' });
    expect(lifecycle.state).toBe('ready');
    expect(lifecycle.isStarted()).toBe(true);
    expect(health.isStarted()).toEqual({ graceful: { status: 'up', state: 'ready' } });
    await moduleRef.close();
    expect(health.isStarted()).toEqual({ graceful: { status: 'up', state: 'stopped' } });
  });

  it('aborts a running warm-up when the shutdown starts', async () => {
    const { moduleRef } = await compile([Cache]);
    await moduleRef.init();
    const signal = moduleRef.get(Cache).seen!;
    await moduleRef.close();
    expect(signal.aborted).toBe(true);
    expect(String((signal.reason as Error).message)).toBe('the shutdown started (close) before the warm-up ended');
  });

  it('holdReadiness() keeps the application unready while its work runs, passes its result or error on, and checks its arguments', async () => {
    const { moduleRef } = await compile([]);
    await moduleRef.init();
    const lifecycle = moduleRef.get(GracefulLifecycleService);
    expect(lifecycle.state).toBe('ready');
    let finish: (value: string) => void = () => undefined;
    const held = lifecycle.holdReadiness('reindex', () => new Promise<string>((resolve) => (finish = resolve)));
    expect(lifecycle.state).toBe('unready');
    finish('done');
    expect(await held).toBe('done');
    expect(lifecycle.state).toBe('ready');
    await expect(lifecycle.holdReadiness('failing', Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    expect(lifecycle.state).toBe('ready');
    expect(() => lifecycle.holdReadiness('', Promise.resolve())).toThrow('name must be a non-empty string');
    expect(() => lifecycle.holdReadiness('x', 42 as never)).toThrow('work a promise or a function returning one');
    expect(() => lifecycle.markUnready('')).toThrow('markUnready(reason)');
    await moduleRef.close();
  });

  it('skips a warm-up on a request-scoped provider with a warning naming it', async () => {
    const { moduleRef, logger } = await compile([PerRequest]);
    await moduleRef.init();
    expect(logger.lines).toContainEqual(expect.stringContaining('@WarmUp() on PerRequest.warm is skipped'));
    expect(moduleRef.get(GracefulLifecycleService).state).toBe('ready');
    await moduleRef.close();
  });
});

describe('@WarmUp() misuse fails when the class is defined, naming it', () => {
  it('on a static method', () => {
    expect(() => {
      class Bad {
        @WarmUp()
        static warm() {}
      }
      return Bad;
    }).toThrow('@WarmUp() on Bad.warm: static methods are never called by the module');
  });

  it.each([
    [{ timeout: 0 }, 'option "timeout" is 0; it must be a finite number of milliseconds above 0'],
    [{ timeout: Number.NaN }, 'option "timeout" is NaN'],
    [{ order: 1 }, 'option "order" is 1; it must be left out: @WarmUp() takes only "timeout"'],
  ])('with options %p', (options, message) => {
    expect(() => {
      class Bad {
        @WarmUp(options as never)
        warm() {}
      }
      return Bad;
    }).toThrow(`@WarmUp() on Bad.warm: ${message}`);
  });
});

const rolledBack: string[] = [];

@Injectable()
class Opened {
  @OnShutdown()
  close() {
    rolledBack.push('Opened.close');
  }
  onModuleDestroy() {
    rolledBack.push('Opened.onModuleDestroy');
  }
}

@Injectable()
class Throws {
  constructor(readonly opened: Opened) {}
  onModuleInit() {
    throw new Error('cannot connect');
  }
}

describe('a failed startup in a testing module', () => {
  it('rolls back (hooks, then Nest’s hooks), reports startup-failed, then hands the error to the caller; nothing exits', async () => {
    // Default signals: the module handles them, yet a testing module never ends the test's process.
    const moduleRef = await Test.createTestingModule({
      imports: [GracefulModule.forRoot({ logger: new MemoryLogger(), platform: 'none' })],
      providers: [Opened, Throws],
    }).compile();
    await expect(moduleRef.init()).rejects.toThrow('cannot connect');
    expect(rolledBack).toEqual(['Opened.close', 'Opened.onModuleDestroy']);
    expect(moduleRef.get(GracefulLifecycleService).lastReport).toMatchObject({ reason: 'startup-failed', startupError: 'cannot connect', exitCode: 1 });
    expect(moduleRef.get(GracefulLifecycleService).lastReport?.startup).toMatchObject({ failedAt: 'init()', rolledBack: ['Opened.close'] });
    expect(moduleRef.get(GracefulLifecycleService).state).toBe('stopped');
  });
});

describe('the record’s listeners (what the module listens through; state$ and events$ are Observables over them)', () => {
  it('each state$ subscriber sees the state now, then each change once; one that unsubscribes while called hears no more, the others still do', () => {
    const record = new LifecycleRecord();
    const first: LifecycleState[] = [];
    const leaving: LifecycleState[] = [];
    const last: LifecycleState[] = [];
    record.state$.subscribe((state) => first.push(state));
    const subscription = record.state$.subscribe((state) => {
      leaving.push(state);
      if (state === 'ready') subscription.unsubscribe();
    });
    const off = record.onState((state) => last.push(state));
    record.serve();
    record.markUnready('lost');
    record.markUnready('lost again');
    off();
    record.markReady();
    expect(first).toEqual(['starting', 'ready', 'unready', 'ready']);
    expect(leaving).toEqual(['starting', 'ready']);
    expect(last).toEqual(['ready', 'unready']);
  });

  it('a listener removed by an earlier one during the same call is not called', () => {
    const record = new LifecycleRecord();
    const heard: string[] = [];
    let offSecond = () => {};
    record.onEvent(() => {
      heard.push('first');
      offSecond();
    });
    offSecond = record.onEvent(() => heard.push('second'));
    record.emit({ type: 'started', at: 0 });
    record.emit({ type: 'started', at: 1 });
    expect(heard).toEqual(['first', 'first']);
  });
});

@Controller()
class PingController {
  @Get('ping')
  ping() {
    return 'pong';
  }
}

@Module({ controllers: [PingController] })
class PlainHttpModule {}

@Module({ imports: [GracefulModule.forRoot({ signals: [], logger: false, platform: 'none' })], controllers: [PingController] })
class GracefulHttpModule {}

describe('an HTTP application’s readiness follows its own server', () => {
  it('is ready once the server listens, through app.listen() or the server’s own listen() after init(); leaves no listener on a server that never listened', async () => {
    for (const how of ['app.listen()', 'server.listen()', 'never'] as const) {
      const app = await NestFactory.create(GracefulHttpModule, { logger: false });
      const server = app.getHttpServer() as Server;
      const lifecycle = app.get(GracefulLifecycleService);
      const before = server.listenerCount('listening');
      let seen: unknown[];
      try {
        if (how === 'app.listen()') await app.listen(0, '127.0.0.1');
        else {
          await app.init();
          expect(lifecycle.state).toBe('starting');
          if (how === 'server.listen()') await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        }
        seen = [how, lifecycle.state, lifecycle.isStarted()];
      } finally {
        await app.close();
      }
      expect(seen).toEqual(how === 'never' ? [how, 'starting', false] : [how, 'ready', true]);
      expect([how, server.listenerCount('listening')]).toEqual([how, before]);
    }
  });

  it('subscribes to no RxJS observable from NestFactory.create() to listen() (the first subscription compiles milliseconds of RxJS)', async () => {
    const subscribe = Observable.prototype.subscribe;
    const subscriptions = async (module: unknown) => {
      let count = 0;
      Observable.prototype.subscribe = function (this: Observable<unknown>, ...args: unknown[]) {
        count++;
        return (subscribe as (...args: unknown[]) => unknown).apply(this, args);
      } as typeof subscribe;
      try {
        const app = await NestFactory.create(module as never, { logger: false });
        await app.listen(0, '127.0.0.1');
        const during = count;
        await app.close();
        return during;
      } finally {
        Observable.prototype.subscribe = subscribe;
      }
    };
    const plain = await subscriptions(PlainHttpModule);
    expect(await subscriptions(GracefulHttpModule)).toBe(plain);
  });
});
