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
  hooks: HookReport[];
  /** Whether the deadline (`shutdownTimeoutMs`) passed. */
  deadlineExceeded: boolean;
  /** The process exit code this outcome stands for (see `GracefulExitCode`). */
  exitCode: number;
}
