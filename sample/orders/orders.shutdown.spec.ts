// How a team proves its shutdown in its own tests, with nestjs-graceful/testing.
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { GracefulModule } from 'nestjs-graceful';
import { endedBefore, runShutdown, stopOrder } from 'nestjs-graceful/testing';
import { DatabaseModule } from '../database/database.module.js';
import { OrdersModule } from './orders.module.js';

async function createApp() {
  const moduleRef = await Test.createTestingModule({
    // No process signal handlers and no fatal-error handlers inside the test runner.
    imports: [GracefulModule.forRoot({ signals: [], handleFatalErrors: false }), DatabaseModule, OrdersModule],
  }).compile();
  return moduleRef.init();
}

describe('orders shutdown', () => {
  it('flushes the outbox before the database closes', async () => {
    const app = await createApp();
    const report = await runShutdown(app);
    expect(report.exitCode).toBe(0);
    expect(stopOrder(report)).toEqual(['OrdersService.flushOutbox', 'MetricsService.push', 'DatabaseService.close']);
    expect(endedBefore(report, 'OrdersService.flushOutbox', 'DatabaseService.close')).toBe(true);
  });

  it('cuts a hung flush at its timeout and still closes the database', async () => {
    const app = await createApp();
    const report = await runShutdown(app, { faults: { 'OrdersService.flushOutbox': { hang: true } } });
    expect(report.exitCode).toBe(1);
    expect(report.hooks.find((hook) => hook.name === 'OrdersService.flushOutbox')).toMatchObject({ outcome: 'timeout' });
    expect(report.hooks.find((hook) => hook.name === 'DatabaseService.close')).toMatchObject({ outcome: 'ok' });
  });
});
