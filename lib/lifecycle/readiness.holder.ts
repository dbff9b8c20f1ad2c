import { Inject, Injectable } from '@nestjs/common';
import { WarmUpExplorer, type WarmUpMethod } from '../discovery/warm-up.explorer.js';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { holdUntilConnected } from '../intake/intake-connection.watch.js';
import { IntakeRegistry } from '../intake/intake.registry.js';
import { GRACEFUL_MODULE_OPTIONS } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { messageOf, stackOf } from '../report/shutdown-report.builder.js';
import { isShuttingDown } from './lifecycle.machine.js';
import { LifecycleRecord } from './lifecycle.record.js';

/** The work readiness waits for: what `holdReadiness()` is given. */
export type HeldWork<T> = Promise<T> | (() => Promise<T>);

/**
 * What keeps readiness down besides the lifecycle itself: the `@WarmUp()`
 * methods, started once the application serves, the intake the drain knows
 * until it is connected (workers ready, microservice servers listening),
 * and the work handed to `holdReadiness()`, at startup or later. Each one
 * holds readiness in the record until it ends; the record decides the state.
 */
@Injectable()
export class ReadinessHolder {
  private readonly logger;
  private served = false;
  /** The warm-ups were started (the application served before any shutdown began). */
  private warmedUp = false;

  constructor(
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
    private readonly record: LifecycleRecord,
    private readonly explorer: WarmUpExplorer,
    private readonly intake: IntakeRegistry,
  ) {
    this.logger = createGracefulLogger(options.logger, 'GracefulReadiness');
  }

  /**
   * The application serves: starts every warm-up (each holds readiness at
   * once), holds readiness for every source of work not connected yet, then
   * tells the record, which moves to `ready` once nothing holds.
   * A warm-up that throws or times out keeps holding readiness down and is
   * handed to `failed`, which fails the startup.
   */
  serve(failed: (warmUp: string, error: unknown) => void = () => undefined): void {
    if (this.served) return;
    this.served = true;
    this.warmedUp = !this.shuttingDown;
    for (const warmUp of this.explorer.explore()) this.warmUp(warmUp, failed);
    this.waitForIntake();
    this.record.serve();
  }

  /** The `@WarmUp()` methods never started (the startup failed or was stopped before the application served), for the report. */
  warmUpsNotStarted(): string[] {
    return this.warmedUp ? [] : this.explorer.explore().map((warmUp) => warmUp.name);
  }

  /** Keeps readiness down while `work` runs; the returned promise settles as the work does. */
  hold<T>(name: string, work: HeldWork<T>): Promise<T> {
    if (typeof name !== 'string' || name.trim() === '' || (typeof work !== 'function' && !isThenable(work))) {
      throw new InvalidGracefulOptionsError(MESSAGES.invalidHold(name, work));
    }
    const release = this.record.hold(name);
    const start = Date.now();
    let running: Promise<T>;
    try {
      running = Promise.resolve(typeof work === 'function' ? work() : work);
    } catch (error) {
      running = Promise.reject(error);
    }
    return running.then(
      (value) => {
        this.ended(name, start, 'ok');
        release();
        return value;
      },
      (error: unknown) => {
        this.ended(name, start, 'error', error);
        if (!this.shuttingDown) this.logger.error(MESSAGES.readinessHoldFailed(name), stackOf(error));
        release();
        throw error;
      },
    );
  }

  /** Runs one warm-up; one that throws or times out keeps holding readiness down, and goes to `failed`. */
  private warmUp({ name, timeoutMs, call }: WarmUpMethod, failed: (warmUp: string, error: unknown) => void): void {
    // A shutdown that began before the application served leaves nothing to warm up.
    if (this.shuttingDown) return;
    const release = this.record.hold(name);
    const controller = new AbortController();
    const start = Date.now();
    let settled = false;
    const settle = (outcome: 'ok' | 'error' | 'timeout', error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopListening();
      this.ended(name, start, outcome, error);
      if (outcome === 'ok' || this.shuttingDown) return release();
      if (outcome === 'timeout') this.logger.error(MESSAGES.warmUpTimedOut(name, timeoutMs));
      else this.logger.error(MESSAGES.warmUpFailed(name), stackOf(error));
      failed(name, error);
    };
    const timer = setTimeout(() => {
      controller.abort(new Error(MESSAGES.warmUpTimeoutReason(name, timeoutMs)));
      settle('timeout', controller.signal.reason);
    }, timeoutMs);
    // Its own bound never keeps a process alive: the warm-up's work does, as long as it runs.
    timer.unref();
    // Not shutting down now (checked above): only a later move can settle, once both bindings exist.
    const stopListening = this.record.onState(() => {
      if (!this.shuttingDown) return;
      const reason = new Error(MESSAGES.shutdownAbortsWarmUp(this.record.reason ?? 'shutdown'));
      controller.abort(reason);
      settle('error', reason);
    });
    Promise.resolve()
      .then(() => call({ signal: controller.signal }))
      .then(
        () => settle('ok'),
        (error: unknown) => settle('error', error),
      );
  }

  /**
   * Each source of work the drain knows that is not connected yet holds
   * readiness until it is (`readinessWaitsForIntake`). A shutdown ends the
   * wait: the sources let go of what they listen to.
   */
  private waitForIntake(): void {
    if (!this.options.readinessWaitsForIntake || this.shuttingDown) return;
    const sources = this.intake.sources();
    // Most applications (HTTP alone) have no source that can tell: nothing to wait for, nothing to set up.
    if (!sources.some((source) => typeof source.connected === 'function')) return;
    const controller = new AbortController();
    const hold = (name: string) => {
      const release = this.record.hold(name);
      const start = Date.now();
      return (outcome: 'ok' | 'error', error?: unknown) => {
        this.ended(name, start, outcome, error);
        if (outcome === 'error') this.logger.warn(MESSAGES.connectionUnknown(name, messageOf(error)));
        release();
      };
    };
    // Not shutting down now (checked above): only a later move can abort.
    const stopListening = this.record.onState(() => {
      if (this.shuttingDown) controller.abort();
    });
    void holdUntilConnected(sources, hold, controller.signal).then(() => {
      stopListening();
      controller.abort();
    });
  }

  private ended(name: string, start: number, outcome: 'ok' | 'error' | 'timeout', error?: unknown): void {
    const at = Date.now();
    this.record.emit({
      type: 'readiness-hold-end',
      name,
      outcome,
      durationMs: at - start,
      ...(error === undefined ? {} : { error: messageOf(error) }),
      at,
    });
  }

  private get shuttingDown(): boolean {
    return isShuttingDown(this.record.state);
  }
}

function isThenable(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
