import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { LifecycleRecord } from '../lifecycle/lifecycle.state.js';

/**
 * Readiness and liveness for terminus health checks. They disclose the
 * lifecycle state only.
 *
 * @example
 * ```ts
 * @Get('ready') @HealthCheck()
 * ready() { return this.health.check([() => this.graceful.isReady()]); }
 * ```
 */
@Injectable()
export class GracefulHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly record: LifecycleRecord,
  ) {}

  /** Up only while the application is `'ready'`: from `listen()` until the shutdown signal. */
  isReady<const Key extends string = 'graceful'>(key: Key = 'graceful' as Key): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    const state = this.record.state;
    return state === 'ready' ? session.up({ state }) : session.down({ state });
  }

  /** Up unless the shutdown passed its deadline or a fatal error was recorded; a normal drain stays alive. */
  isAlive<const Key extends string = 'graceful'>(key: Key = 'graceful' as Key): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    const state = this.record.state;
    const alive = !this.record.deadlineExceeded && this.record.fatalError === undefined;
    return alive ? session.up({ state }) : session.down({ state });
  }
}
