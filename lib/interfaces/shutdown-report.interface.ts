export type HookOutcome = 'ok' | 'error' | 'timeout' | 'skipped';

/** How one `@OnShutdown()` hook went. */
export interface HookReport {
  /** `Class.method` */
  name: string;
  order: number;
  /** Epoch milliseconds; absent for a skipped hook. */
  start?: number;
  end?: number;
  durationMs?: number;
  outcome: HookOutcome;
  /** The error's message, for `'error'` and `'timeout'`. */
  error?: string;
  /** A hook of the final phase. */
  final?: boolean;
}

/** One step of the shutdown, for the timeline. */
export interface StageReport {
  name: 'readiness delay' | 'drain' | 'hooks' | "Nest's hooks" | 'final hooks';
  /** Epoch milliseconds. */
  start: number;
  end: number;
}

/** What the HTTP drain did. */
export interface DrainReport {
  /** Requests in flight when the server stopped accepting. */
  inFlightAtStart: number;
  /** Requests that were served to the end after the server stopped accepting. */
  requestsCompleted: number;
  /** Keep-alive connections closed because they were idle. */
  idleConnectionsClosed: number;
  /** Requests still running at `drainTimeoutMs`, whose connections were destroyed. */
  requestsCut: number;
  /** Work registered with `track()` that had not settled at `drainTimeoutMs`. */
  trackedWorkCut: number;
  durationMs: number;
}

/** A `process.exit()` call made during the shutdown (by a hook or a library); the shutdown went on. */
export interface ExitCall {
  code: number;
  /** Where it was called from: the first frame of its stack outside Node's own code. */
  caller?: string;
  /** Epoch milliseconds. */
  at: number;
}

/** The outcome of one shutdown, in `GracefulLifecycleService.lastReport`. */
export interface ShutdownReport {
  reason: string;
  /** Epoch milliseconds at the signal (or the `close()` / `shutdown()` call). */
  startedAt: number;
  endedAt: number;
  durationMs: number;
  /** The readiness delay actually waited. */
  readinessDelayMs: number;
  drain?: DrainReport;
  /** The steps in the order they ran, with their times. */
  stages: StageReport[];
  hooks: HookReport[];
  /** Whether the deadline (`shutdownTimeoutMs`) passed. */
  deadlineExceeded: boolean;
  /** The message of a fatal error that started or hit the shutdown. */
  fatalError?: string;
  /** `process.exit()` calls made during the shutdown; the highest code among them and the outcome's is the exit code. */
  exitCalls?: ExitCall[];
  /** The process exit code this outcome stands for (see `GracefulExitCode`). */
  exitCode: number;
}
