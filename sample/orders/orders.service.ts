import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { OnShutdown, type ShutdownContext } from 'nestjs-graceful';
import { DatabaseService } from '../database/database.service.js';

@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);
  private readonly outbox: string[] = [];

  constructor(private readonly db: DatabaseService) {}

  async list() {
    return this.db.query('SELECT * FROM orders', [{ id: 1, item: 'coffee' }]);
  }

  record(item: string) {
    this.outbox.push(item);
  }

  /** Writes what is buffered while the database is still open: it stops before DatabaseService. */
  @OnShutdown({ timeout: 2000 })
  async flushOutbox({ signal }: ShutdownContext) {
    for (const item of this.outbox.splice(0)) {
      if (signal.aborted) break;
      await this.db.query(`INSERT INTO orders VALUES ('${item}')`, null);
    }
    await sleep(150, undefined, { signal }); // a visible step in the sample's shutdown log; ends early if the hook times out
    this.logger.log('outbox flushed');
  }
}
