import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { OnShutdown, type ShutdownContext } from 'nestjs-graceful';

/**
 * Stands in for a connection pool: a query takes a moment of I/O, and a
 * query sent after the pool was closed fails, as it would with pg or mysql2.
 */
@Injectable()
export class DatabaseService implements OnModuleDestroy {
  private readonly logger = new Logger(DatabaseService.name);
  private closed = false;
  private active = 0;

  async query<T>(sql: string, result: T): Promise<T> {
    if (this.closed) throw new Error(`pool is closed: ${sql}`);
    this.active++;
    try {
      await sleep(2);
      return result;
    } finally {
      this.active--;
    }
  }

  /** With nestjs-graceful: runs after the drain, after every provider that uses the pool. */
  @OnShutdown({ timeout: 3000 })
  async close({ signal }: ShutdownContext): Promise<void> {
    while (this.active > 0 && !signal.aborted) await sleep(5);
    this.closed = true;
    this.logger.log('pool closed');
  }

  /** Without the module this is where most applications close their pool; with it, the pool is already closed. */
  async onModuleDestroy(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.logger.log('pool closed in onModuleDestroy');
    }
  }
}
