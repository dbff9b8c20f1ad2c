import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
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
