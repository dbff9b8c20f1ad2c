import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { OnShutdown } from 'nestjs-graceful';

/** Depends on nothing, so it stops at the same time as OrdersService. */
@Injectable()
export class MetricsService {
  private readonly logger = new Logger(MetricsService.name);

  @OnShutdown()
  async push() {
    await sleep(100);
    this.logger.log('metrics pushed');
  }
}
