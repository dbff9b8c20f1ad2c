import type { ModulesContainer } from '@nestjs/core';
import { lifecycleHookNames } from '../adapter/nest.adapter.js';
import { scanProviders } from '../discovery/decorated-provider.scanner.js';
import { STARTUP_ABORT_MS } from '../graceful.constants.js';
import { descriptionLevel, type GracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { LifecycleRecord } from '../lifecycle/lifecycle.record.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { messageOf, stackOf } from '../report/shutdown-report.builder.js';
import { formatStartupTimeline } from '../report/startup-timeline.formatter.js';
import { untilAborted } from '../shutdown/abortable-delay.js';
import { StartupTracker } from './startup.tracker.js';

/** What the startup needs of the one sequence it belongs to. */
export interface StartupHost {
  /** A run (the shutdown, or a rollback) has begun. */
  readonly shuttingDown: boolean;
  /** An application attached (`init()`, `listen()`, `enableShutdownHooks()`). */
  readonly attached: boolean;
  /** Starts (or joins) the rollback: the one sequence, reason `startup-failed`. */
  rollBack(): Promise<unknown>;
  /** `init()` ended well: the application serves (or will, once a server listens). */
  initialized(): void;
}

/**
 * The startup, from the module's construction (inside `NestFactory.create()`)
 * until the application has started: each bootstrap step (`init()`,
 * `listen()`) and each provider's lifecycle hook, timed; `startupTimeoutMs`;
 * a failure rolled back by the one sequence; a run that begins meanwhile
 * (a signal, `close()`, a fatal error) interrupts it:
 *
 *   create -> init (hooks) -> listen -> warm-ups -> started
 *        \-> failed (error, timeout, a signal inside create) -> rollback
 *        \-> interrupted: the step under way gets `abortMs`, then is left running
 */
export class StartupSequence {
  readonly tracker = new StartupTracker();
  /** How long a run that interrupts the startup waits for the step under way (`STARTUP_ABORT_MS`; shorter in unit tests). */
  abortMs = STARTUP_ABORT_MS;
  /** The first error of the startup, once it failed (or a run left a step running): reported as `startupError`. */
  error?: { where: string; error: unknown };
  private readonly bootstraps: Array<Promise<unknown>> = [];
  /** Bootstrap steps not settled yet. */
  private pending = 0;
  private onFailure!: () => void;
  /** Resolves when the startup fails: a run stops waiting for the other steps (they wait for the failed one). */
  private readonly failure = new Promise<void>((resolve) => (this.onFailure = resolve));
  /** A run (a signal, close(), shutdown(), a fatal error) interrupted the startup: its reason, and where. */
  private interrupted?: { reason: string; where: string };
  private timer?: NodeJS.Timeout;
  private timerArmed = false;
  private unwatch?: () => void;

  constructor(
    private readonly options: ResolvedGracefulOptions,
    private readonly record: LifecycleRecord,
    private readonly modules: ModulesContainer,
    private readonly logger: GracefulLogger,
    private readonly host: StartupHost,
  ) {}

  /**
   * What a failed startup never reached (`report.startup`): each provider's
   * lifecycle hook Nest never began, then the `warmUps` never run. Read once,
   * on the way out.
   */
  neverStarted(warmUps: string[], ownToken: unknown): string[] {
    const begun = new Set(this.tracker.all().map((step) => step.name));
    const hooks = lifecycleHookNames(this.modules, ownToken).filter((name) => !begun.has(name));
    return [...new Set(hooks), ...warmUps.map((name) => `${name} (warm-up)`)];
  }

  /** NestFactory handed the application out: the creation ended. */
  created(): void {
    this.tracker.createdEndAt = Date.now();
  }

  /**
   * Inside `NestFactory.create()`: the module exists, NestFactory has not
   * handed the application out, and nothing attached it (a testing module,
   * built without NestFactory, is out of it once it attaches).
   */
  private get inCreate(): boolean {
    return this.tracker.createdEndAt === undefined && !this.host.attached;
  }

  /** The startup has not ended: inside NestFactory.create(), or `init()` / `listen()` still running. */
  get running(): boolean {
    return !this.record.started && (this.inCreate || this.pending > 0);
  }

  /** What the startup log line of a signal says: where it arrived, and what runs. */
  describeInterruption(signal: string): string {
    const inCreate = this.inCreate;
    return MESSAGES.startupInterrupted(signal, inCreate ? 'NestFactory.create()' : 'the startup', this.tracker.running(), inCreate ? undefined : this.abortMs);
  }

  /**
   * From the first bootstrap step until the application has started: each
   * provider's lifecycle hooks are timed (the startup timeline, at the plan's
   * level, and what a timeout names), and `startupTimeoutMs` bounds it.
   */
  attach(): void {
    // The one scan of every provider: the decorated methods for the explorers, and each lifecycle hook timed.
    scanProviders(this.modules, (name) => this.tracker.begin(name));
    this.armTimeout();
    this.unwatch = this.record.onEvent((event) => {
      if (event.type === 'readiness-hold-end') this.tracker.ended(event.name, event.at - event.durationMs, event.at, event.outcome);
      if (event.type !== 'started') return;
      this.stopWatching();
      const level = descriptionLevel(this.options.logger, this.options.logPlan);
      if (level) this.logger[level](formatStartupTimeline(this.tracker.all(), this.tracker.createdAt, event.at));
    });
  }

  /**
   * Arms `startupTimeoutMs`, once: from the module's construction when Nest
   * builds it inside `NestFactory.create()` (a factory that never resolves is
   * a hung start too), else from the first attach (`init()`, `listen()`).
   */
  armTimeout(): void {
    const ms = this.options.startupTimeoutMs;
    if (ms === undefined || this.timerArmed) return;
    this.timerArmed = true;
    this.timer = setTimeout(() => this.onTimeout(ms), ms);
  }

  /** The startup timeout and the watch end (it started, a run began, or a module created was not started: its attach re-arms). */
  stopWatching(): void {
    clearTimeout(this.timer);
    this.timerArmed = false;
    // May run inside the listener itself: the record's listeners allow it.
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** A bootstrap step (`init()`, `listen()`): started here, unless a signal already stopped the startup. */
  step<T>(step: 'init' | 'listen', start: () => Promise<T>): Promise<T> {
    if (this.host.shuttingDown && this.error) return Promise.reject(new Error(MESSAGES.startupAfterShutdown(`${step}()`)));
    const end = this.tracker.begin(`${step}()`, true);
    this.pending++;
    let done: Promise<T>;
    try {
      done = start();
    } catch (error) {
      done = Promise.reject(error as Error);
    }
    void done.then(
      () => end('ok'),
      () => end('error'),
    );
    this.bootstraps.push(
      done.then(
        () => void this.pending--,
        () => void this.pending--,
      ),
    );
    const seen = done.then((value) => {
      if (step === 'init') this.host.initialized();
      return value;
    });
    // The caller gets the error once what had started is rolled back (unless the process exits first).
    return seen.catch(async (error: unknown) => {
      await this.fail(`${step}()`, error);
      throw error;
    });
  }

  /**
   * The startup failed (a provider's `onModuleInit` threw, `listen()` found
   * its port taken, `strict` refused the plan, a warm-up threw or timed out,
   * `startupTimeoutMs` passed): whatever the caller does with the error, it
   * is rolled back by the one sequence (the `@OnShutdown` hooks, then Nest's
   * hooks), reported with the reason `startup-failed`.
   */
  async fail(where: string, error: unknown): Promise<void> {
    if (!this.error) {
      this.error = { where, error };
      this.logger.error(MESSAGES.startupFailed(where, messageOf(error)), stackOf(error));
      this.onFailure();
      // Before any shutdown began: the rollback runs in `failed` (from `draining`, the run's own states stand).
      this.record.advance('failed');
    }
    await this.host.rollBack();
  }

  /**
   * A run begins (a signal, `close()`, `shutdown()`, a fatal error) while the
   * startup has not ended and had not failed: it interrupts the startup.
   * Inside `NestFactory.create()` the startup cannot end: it has failed
   * (state `failed`). Elsewhere the run decides once it has waited for the
   * step under way (`settled()`).
   */
  interrupt(reason: string): void {
    this.stopWatching();
    if (this.error || !this.running) return;
    const inCreate = this.inCreate;
    const where = inCreate ? 'NestFactory.create()' : 'the startup';
    this.interrupted = { reason, where };
    if (!inCreate) return;
    this.error = { where, error: new Error(MESSAGES.startupInterruptedReason(reason, where, this.tracker.running())) };
    this.record.advance('failed');
  }

  /**
   * Waits for the bootstrap steps to end, for the startup to fail, for
   * `abortMs` when a run interrupted it, or for `expired`. Returns whether a
   * step was left running: then it is named (and, for an interruption, in
   * `error`), and Nest's sequence must not wait for it either.
   */
  async settled(startedAt: number, expired: AbortSignal): Promise<boolean> {
    await untilAborted(Promise.race([Promise.all(this.bootstraps), this.failure, this.abandoned(expired)]), expired);
    if (this.pending === 0) return false;
    const running = this.tracker.running();
    if (this.interrupted && !this.error) {
      const { reason, where } = this.interrupted;
      this.error = { where, error: new Error(MESSAGES.startupInterruptedReason(reason, where, running)) };
    }
    // A failed or timed-out startup has named what runs already.
    if (this.interrupted) this.logger.warn(MESSAGES.startupAbandoned(Date.now() - startedAt, running));
    return true;
  }

  /** Resolves `abortMs` after a run interrupted the startup; never otherwise. */
  private abandoned(expired: AbortSignal): Promise<void> {
    if (!this.interrupted) return new Promise<void>(() => undefined);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.abortMs);
      // Resolved or not, the timer must not outlive the wait.
      void Promise.all(this.bootstraps).then(() => clearTimeout(timer));
      expired.addEventListener('abort', () => clearTimeout(timer), { once: true });
    });
  }

  private onTimeout(ms: number): void {
    if (this.record.started || this.host.shuttingDown) return;
    // Inside NestFactory.create() no provider's lifecycle hook has begun: what runs is Nest resolving the graph.
    const inCreate = this.inCreate;
    const running = inCreate ? [MESSAGES.createStillRunning()] : this.tracker.running(Date.now(), this.record.held);
    this.logger.error(MESSAGES.startupTimedOut(ms, running));
    void this.fail(inCreate ? 'NestFactory.create()' : 'the startup', new Error(MESSAGES.startupTimeoutReason(ms, running)));
  }
}
