import { Injectable, Logger } from '@nestjs/common';
import { GracefulLifecycleService, OnShutdown } from 'nestjs-graceful';

/**
 * Keeps an audit trail of the lifecycle from events$ and flushes it in the
 * final phase: after everything else, even when the deadline has passed.
 */
@Injectable()
export class AuditLogService {
  private readonly logger = new Logger(AuditLogService.name);
  private readonly entries: string[] = [];

  constructor(lifecycle: GracefulLifecycleService) {
    lifecycle.events$.subscribe((event) => {
      if (event.type === 'state') this.entries.push(`state ${event.state}`);
      if (event.type === 'hook-end') this.entries.push(`${event.hook} ${event.outcome}`);
    });
  }

  @OnShutdown({ final: true, timeout: 500 })
  flush() {
    this.logger.log(`audit trail: ${this.entries.join('; ')}`);
  }
}
