import { GracefulExitCode, WATCHDOG_MARGIN_MS } from '../graceful.constants.js';
import type { GracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type {
  ChildProcessReport,
  DrainReport,
  ExitCall,
  IntakeReport,
  ReadinessDelayReport,
  ShutdownReport,
  StageReport,
  WorkerThreadReport,
} from '../interfaces/shutdown-report.interface.js';
import type { LifecycleRecord } from '../lifecycle/lifecycle.record.js';
import type { ProcessSignals } from '../process/process-signals.js';
import type { HookRun, StopScheduler } from '../scheduler/stop.scheduler.js';
import type { TrafficWatch } from '../drain/traffic.watch.js';
import { namesAtMost, RunningHooks } from './running-hooks.list.js';

/** What started the shutdown, and what it may do. */
export interface Trigger {
  reason: string;
  /** Wait `readinessDelayMs` first (SIGTERM, `shutdown()`, a fatal error). */
  delay: boolean;
  /** End the process when done (signals, `shutdown()`, fatal errors, `process.exit()` calls; not `app.close()`). */
  exit: boolean;
}

/** Nest's own sequence (its hooks and the server's close), handed over by the first `close()` that reaches the host. */
export type NestSequence = (abandonInit?: boolean) => Promise<void>;

/** What a run needs of the module around it. */
export interface RunContext {
  shutdownTimeoutMs: number;
  /** Kept back from the deadline for the final hooks (known once the bootstrap that found them has ended). */
  finalReserveMs(): number;
  record: LifecycleRecord;
  logger: GracefulLogger;
  process: Pick<ProcessSignals, 'startWatchdog'>;
}

/**
 * One shutdown: its trigger, its deadline and watchdog, and everything it has
 * done so far, which the report is built from. The deadline only aborts what
 * is running (`expired`); the watchdog, armed only for a run that ends the
 * process, ends a process whose event loop is blocked past it.
 */
export class ShutdownRun {
  readonly startedAt = Date.now();
  readonly deadline: number;
  /** Aborts at the deadline: the delay, the drain, running hooks and the wait for Nest's hooks end. */
  readonly expired = new AbortController();
  done!: Promise<ShutdownReport>;
  /** Set once the outcome is published: nothing may arm or start again. */
  finished = false;
  /** Nest's own sequence, handed over by the first `close()` that reaches the host. */
  readonly nestSequence: Promise<NestSequence>;
  readonly offerNestSequence: (sequence: NestSequence) => void;
  /** Nest's hooks, once started. */
  nestHooks?: Promise<void>;
  /** The run stopped waiting for a startup step that still runs: Nest's sequence must not wait for it either. */
  abandonedStartup?: boolean;
  /** The scheduler of the main plan, for the deadline. */
  scheduler?: StopScheduler;
  /** What runs now, for the deadline's messages. */
  now = 'waiting for the bootstrap to end';
  /** The hooks running now, for the watchdog's line. */
  readonly running = new RunningHooks();
  readonly stages: StageReport[] = [];
  readonly hookRuns: HookRun[] = [];
  drain?: DrainReport;
  intake: IntakeReport[] = [];
  /** Watches requests and probes from the signal to the end of the readiness delay, when there is one. */
  traffic?: TrafficWatch;
  delay?: ReadinessDelayReport;
  readonly exitCalls: ExitCall[] = [];
  children?: ChildProcessReport[];
  workers?: WorkerThreadReport[];
  /** Nest's hooks threw, or the module failed internally. */
  failed = false;
  private deadlineTimer?: NodeJS.Timeout;
  private watchdog?: ReturnType<ProcessSignals['startWatchdog']>;

  constructor(
    readonly trigger: Trigger,
    private readonly context: RunContext,
  ) {
    this.deadline = this.startedAt + context.shutdownTimeoutMs;
    let offer: (sequence: NestSequence) => void = () => undefined;
    this.nestSequence = new Promise<NestSequence>((resolve) => (offer = resolve));
    this.offerNestSequence = offer;
  }

  /** Runs one stage, named for the deadline's messages and the watchdog, and timed for the report. */
  async stage<T>(name: StageReport['name'], step: () => Promise<T>): Promise<T> {
    this.now = name === "Nest's hooks" ? name : `the ${name}`;
    this.watchdog?.running(this.now);
    const start = Date.now();
    try {
      return await step();
    } finally {
      this.stages.push({ name, start, end: Date.now() });
    }
  }

  /** (Re)arms the deadline, short of the final hooks' reserve. */
  armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    // Not unref()ed: a hung hook with an otherwise empty event loop must still end in 124.
    const ms = Math.max(0, this.deadline - this.context.finalReserveMs() - Date.now());
    this.deadlineTimer = setTimeout(() => this.onDeadline(), ms);
  }

  /** The final hooks have a bound of their own, and the outcome is being decided: the deadline has nothing left to stop. */
  disarmDeadline(): void {
    clearTimeout(this.deadlineTimer);
  }

  /** The run is to end the process: the watchdog guards it from here. A run that already ended (an `app.close()` in code) stays ended. */
  exitWhenDone(): void {
    if (this.finished) return;
    this.trigger.exit = true;
    if (this.watchdog) return;
    const { shutdownTimeoutMs, process } = this.context;
    const ms = Math.max(0, this.deadline + WATCHDOG_MARGIN_MS - Date.now());
    this.watchdog = process.startWatchdog(
      ms,
      GracefulExitCode.DeadlineExceeded,
      MESSAGES.watchdog(shutdownTimeoutMs),
      this.now,
      // Read on the main thread at the deadline only: nothing is sent to the watchdog per hook.
      () => this.running.describeNewestFirst() ?? this.now,
    );
  }

  /** The outcome is published: nothing may arm again. */
  end(): void {
    this.finished = true;
    clearTimeout(this.deadlineTimer);
  }

  /** The process goes on (a run that ended in code): the watchdog's thread ends. */
  stopWatchdog(): void {
    this.watchdog?.stop();
  }

  private onDeadline(): void {
    const { record, logger, shutdownTimeoutMs } = this.context;
    record.deadlineExceeded = true;
    const hooks = this.scheduler?.runningHooks().map((hook) => hook.name) ?? [];
    logger.error(MESSAGES.deadlineExceeded(shutdownTimeoutMs, hooks.length > 0 ? namesAtMost(hooks) : [this.now], this.trigger.exit));
    const reason = new Error(MESSAGES.deadlineReason(shutdownTimeoutMs));
    this.expired.abort(reason);
    this.scheduler?.stop(reason);
  }
}
