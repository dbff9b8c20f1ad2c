import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { GracefulModule, GracefulTerminusLogger } from 'nestjs-graceful';
import { AuditModule } from './audit/audit.module.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthController } from './health/health.controller.js';
import { OrdersModule } from './orders/orders.module.js';

const envMs = (name: string) => (process.env[name] === undefined ? undefined : Number(process.env[name]));

@Module({})
export class AppModule {
  /**
   * 'graceful': the application as this package intends it.
   * 'plain': the same application as most Nest apps are built today, with
   * terminus' gracefulShutdownTimeoutMs and the pool closed in
   * onModuleDestroy, to compare the two under a rolling restart.
   */
  static register(mode: 'graceful' | 'plain'): DynamicModule {
    const lifecycle =
      mode === 'graceful'
        ? [
            GracefulModule.forRoot({
              shutdownTimeoutMs: 25_000,
              gracePeriodMs: 30_000,
              hookTimeoutMs: 5_000,
              readinessDelayMs: envMs('READINESS_DELAY_MS'),
              readinessMinDelayMs: envMs('READINESS_MIN_DELAY_MS'),
              drainTimeoutMs: envMs('DRAIN_TIMEOUT_MS'),
              logPlan: true,
            }),
            // Readiness down during the shutdown is logged at debug level, not as terminus' ERROR.
            TerminusModule.forRoot({ logger: GracefulTerminusLogger }),
            AuditModule,
          ]
        : [TerminusModule.forRoot({ logger: false, gracefulShutdownTimeoutMs: envMs('READINESS_DELAY_MS') ?? 1000 })];
    return { module: AppModule, imports: [...lifecycle, DatabaseModule, OrdersModule], controllers: [HealthController] };
  }
}
