import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { markProbe } from '../drain/traffic.watch.js';
import { LifecycleRecord } from '../lifecycle/lifecycle.record.js';

/** Options of `isReady()` and `isAlive()`. */
export interface GracefulHealthOptions {
  /**
   * Also disclose why the shutdown started, whether it passed its deadline,
   * and the fatal error's message. Off by default: probes are often public.
   * @default false
   */
  details?: boolean;
}

/**
 * Readiness and liveness for terminus health checks. By default they
 * disclose the lifecycle state only.
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

  /**
   * Up only while the application is `'ready'`: from `listen()` until the
   * shutdown signal. Its answers after the signal let the readiness delay
   * end early: once it has answered down and only probes arrive.
   */
  isReady<const Key extends string = 'graceful'>(key: Key = 'graceful' as Key, options: GracefulHealthOptions = {}): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    markProbe();
    this.record.readinessProbedAt = Date.now();
    if (this.record.state === 'ready') return session.up(this.data(options));
    this.record.onReadinessDown?.();
    return session.down(this.data(options));
  }

  /** Up unless the shutdown passed its deadline or a fatal error was recorded; a normal drain stays alive. */
  isAlive<const Key extends string = 'graceful'>(key: Key = 'graceful' as Key, options: GracefulHealthOptions = {}): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    markProbe();
    const alive = !this.record.deadlineExceeded && this.record.fatalError === undefined;
    return alive ? session.up(this.data(options)) : session.down(this.data(options));
  }

  private data({ details = false }: GracefulHealthOptions): Record<string, unknown> {
    const { state, reason, deadlineExceeded, fatalError } = this.record;
    if (!details) return { state };
    return {
      state,
      ...(reason === undefined ? {} : { reason }),
      deadlineExceeded,
      ...(fatalError === undefined ? {} : { fatalError: fatalError instanceof Error ? fatalError.message : String(fatalError) }),
    };
  }
}
