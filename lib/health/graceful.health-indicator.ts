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
   * Up only while the application is `'ready'`: from the end of its startup
   * (`listen()` and every warm-up and held work) until the shutdown signal,
   * except while `markUnready()` or held work keeps it `'unready'`. The
   * reason given to `markUnready()` is in its data as `unreadyReason`; the
   * work it waits for, as `waitingFor`, with `details`. Its answers after
   * the signal let the readiness delay end early: once it has answered down
   * and only probes arrive.
   */
  isReady<const Key extends string = 'graceful'>(key: Key = 'graceful' as Key, options: GracefulHealthOptions = {}): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    markProbe();
    this.record.readinessProbedAt = Date.now();
    if (this.record.state === 'ready') return session.up(this.data(options));
    this.record.onReadinessDown?.();
    return session.down(this.data(options));
  }

  /**
   * For a Kubernetes `startupProbe`: down while the application starts, up
   * once its startup has ended (it served and every warm-up and held work
   * ended), and never down after, whatever comes next.
   */
  isStarted<const Key extends string = 'graceful'>(key: Key = 'graceful' as Key, options: GracefulHealthOptions = {}): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    markProbe();
    return this.record.started ? session.up(this.data(options)) : session.down(this.data(options));
  }

  /** Up unless the shutdown passed its deadline or a fatal error was recorded; a normal drain stays alive. */
  isAlive<const Key extends string = 'graceful'>(key: Key = 'graceful' as Key, options: GracefulHealthOptions = {}): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    markProbe();
    const alive = !this.record.deadlineExceeded && this.record.fatalError === undefined;
    return alive ? session.up(this.data(options)) : session.down(this.data(options));
  }

  private data({ details = false }: GracefulHealthOptions): Record<string, unknown> {
    const { state, reason, deadlineExceeded, fatalError, unreadyReason } = this.record;
    // The application wrote the reason for the probe: it shows whenever it holds readiness down.
    const unready = unreadyReason !== undefined && (state === 'unready' || state === 'starting') ? { unreadyReason } : {};
    if (!details) return { state, ...unready };
    const waitingFor = this.record.holding;
    return {
      state,
      ...unready,
      ...(waitingFor.length > 0 && (state === 'unready' || state === 'starting') ? { waitingFor } : {}),
      ...(reason === undefined ? {} : { reason }),
      deadlineExceeded,
      ...(fatalError === undefined ? {} : { fatalError: fatalError instanceof Error ? fatalError.message : String(fatalError) }),
    };
  }
}
