import { Injectable, Logger, Optional, type LoggerService } from '@nestjs/common';
import { MESSAGES } from '../graceful.messages.js';
import { GracefulLifecycleService } from '../lifecycle/graceful-lifecycle.service.js';
import { isShuttingDown } from '../lifecycle/lifecycle.machine.js';

/** How @nestjs/terminus (11 and 12) begins the line it logs for every check that answered 503. */
const CHECK_FAILED = 'Health Check has failed!';

/**
 * A logger for @nestjs/terminus that knows about the shutdown:
 * `TerminusModule.forRoot({ logger: GracefulTerminusLogger })`.
 *
 * Terminus logs every failed health check as an error. During the shutdown
 * readiness answers down on purpose, once per probe: those lines go to debug
 * level. Everything else terminus logs, and every failed check while the
 * application runs, goes through Nest's logger unchanged.
 */
@Injectable()
export class GracefulTerminusLogger implements LoggerService {
  private readonly logger = new Logger('HealthCheckService');

  constructor(@Optional() private readonly lifecycle?: GracefulLifecycleService) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.logger.log(message, ...rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.logger.warn(message, ...rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    if (typeof message === 'string' && message.startsWith(CHECK_FAILED) && this.shuttingDown()) {
      this.logger.debug(MESSAGES.checkFailedInShutdown(message.slice(CHECK_FAILED.length).trim()));
      return;
    }
    this.logger.error(message, ...rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.logger.debug(message, ...rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.logger.verbose(message, ...rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.logger.fatal(message, ...rest);
  }

  private shuttingDown(): boolean {
    const state = this.lifecycle?.state;
    return state !== undefined && isShuttingDown(state);
  }
}
