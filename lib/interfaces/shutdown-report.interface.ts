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
  name: 'readiness delay' | 'drain' | 'hooks' | "Nest's hooks" | 'child processes' | 'worker threads' | 'final hooks';
  /** Epoch milliseconds. */
  start: number;
  end: number;
}

/** A request still running at `drainTimeoutMs` (or the deadline), whose connection was destroyed. */
export interface CutRequest {
  /** The server it came through, as the intake rows name it: `HTTP` (the application's), `HTTP :8443`, or the name given to `drainServer()`. */
  server: string;
  method: string;
  /** The path, without the query string. */
  path: string;
  /** From its arrival to the cut. */
  runningMs: number;
}

/** What the HTTP drain did, over every server drained (the application's, those it serves through, those handed to `drainServer()`). */
export interface DrainReport {
  /** Requests in flight when the server stopped accepting. */
  inFlightAtStart: number;
  /** Requests that were served to the end after the server stopped accepting. */
  requestsCompleted: number;
  /** Keep-alive connections closed because they were idle. */
  idleConnectionsClosed: number;
  /** Requests still running at `drainTimeoutMs`, whose connections were destroyed. */
  requestsCut: number;
  /** The cut requests, longest running first: at most 20 are named, `requestsCut` counts them all. */
  cutRequests: CutRequest[];
  /**
   * Work registered with `track()` still running when the drain ended: its
   * `AbortSignal` was aborted; it may still be running when the hooks begin.
   */
  trackedWorkCut: number;
  durationMs: number;
}

/** What kind of source an intake row is. */
export type IntakeKind = 'http' | 'sse' | 'websocket' | 'microservice' | 'queue' | 'schedule' | 'on-drain' | 'tracked';

/**
 * How one source of work stopped at the drain: HTTP, SSE streams, a
 * WebSocket gateway, a microservice server, a queue worker, the schedules,
 * an `@OnDrain()` method, or the work registered with `track()`.
 */
export interface IntakeReport {
  /** As the plan and the timeline name it, e.g. `BullMQ worker "orders"`. */
  name: string;
  kind: IntakeKind;
  /** What `finished` and `stillRunning` count: `request`, `stream`, `socket`, `message`, `job`, `callback`, `task`. */
  unit: string;
  /** Epoch milliseconds. */
  start: number;
  end: number;
  /** Work that finished (or, for streams and sockets, was ended cleanly) during the drain. */
  finished: number;
  /** Work still running when the drain ended (`drainTimeoutMs`, or the deadline). */
  stillRunning: number;
  /** Work taken whose result was not delivered (a reply the broker refused); any makes the outcome `'error'`. */
  lost?: number;
  /** `'ok'`: stopped and idle in time; `'timeout'`: work was still running; `'error'`: stopping it threw. */
  outcome: 'ok' | 'timeout' | 'error';
  error?: string;
}

/** A failed startup, as the run that rolled it back saw it. */
export interface StartupRollbackReport {
  /** Where the startup failed: `init()`, `listen()`, `the warm-up Class.method`, `the startup` (its timeout), `NestFactory.create()`. */
  failedAt: string;
  /** The error's message (as `startupError`). */
  error: string;
  /** The `@OnShutdown` hooks the rollback ran (by the stop plan), whatever their outcome: what had started was closed by these. */
  rolledBack: string[];
  /**
   * What the startup never reached: each provider's `onModuleInit` /
   * `onApplicationBootstrap` Nest never called, and the `@WarmUp()` methods
   * never run. Nest's destroy hooks still run for every provider.
   */
  neverStarted: string[];
}

/** Something still open once the shutdown ended, that would keep the process alive. */
export interface OpenHandleReport {
  /** `server`, `socket`, `child process`, `worker thread`, `timer`, or the handle's own type. */
  type: string;
  /** e.g. `Server on 127.0.0.1:3000`, `127.0.0.1:51234 -> 127.0.0.1:6379`, `pid 4242 (sleep)`. */
  description: string;
  /** Where it was created (the first frames of its stack), with the `traceHandles` option. */
  createdAt?: string;
}

/** A child process the application started, stopped after Nest's hooks. */
export interface ChildProcessReport {
  /** `pid 4242 (sleep)`. */
  name: string;
  /** SIGTERM ended it, or SIGKILL did at the deadline. */
  stoppedBy: 'SIGTERM' | 'SIGKILL';
  exitCode: number | null;
  signal: string | null;
}

/** A worker thread the application started that was still running after Nest's hooks, terminated by the module. */
export interface WorkerThreadReport {
  /** `worker thread 3 (created at Reports.start (/app/dist/reports.js:12:20))`. */
  name: string;
  /** It exited before the deadline. */
  stopped: boolean;
  exitCode: number | null;
}

/** A `process.exit()` call made during the shutdown (by a hook or a library); the shutdown went on. */
export interface ExitCall {
  code: number;
  /** Where it was called from: the first frame of its stack outside Node's own code. */
  caller?: string;
  /** Epoch milliseconds. */
  at: number;
}

/** The readiness delay: its rule, what it saw, and why it ended. */
export interface ReadinessDelayReport {
  /** `readinessDelayMs`, `readinessMinDelayMs`, `readinessQuietMs` as they applied. */
  boundMs: number;
  floorMs: number;
  quietMs: number;
  /** `'quiet'`: a probe saw it down and only probes arrived for `quietMs`; `'bound'`: it took `boundMs`; `'deadline'`: cut. */
  endedBy: 'quiet' | 'bound' | 'deadline';
  /** From the signal to the end of the delay. */
  waitedMs: number;
  /** From the signal to the first readiness probe answered down, if one was. */
  probeDownAfterMs?: number;
  /** From the signal to the arrival of the last request that was not a probe, if one arrived. */
  lastRequestAfterMs?: number;
  /** Requests that arrived during the delay, probes included. */
  requests: number;
  probes: number;
}

/** The outcome of one shutdown, in `GracefulLifecycleService.lastReport`. */
export interface ShutdownReport {
  reason: string;
  /** Epoch milliseconds at the signal (or the `close()` / `shutdown()` call). */
  startedAt: number;
  endedAt: number;
  durationMs: number;
  /** The readiness delay actually waited, from the signal. */
  readinessDelayMs: number;
  /** How the readiness delay went and why it ended, when there was one. */
  readinessDelay?: ReadinessDelayReport;
  drain?: DrainReport;
  /** Each source of work stopped at the drain, in the order they ended. */
  intake: IntakeReport[];
  /** The steps in the order they ran, with their times. */
  stages: StageReport[];
  hooks: HookReport[];
  /** Whether the deadline (`shutdownTimeoutMs`) passed. */
  deadlineExceeded: boolean;
  /** The message of a fatal error that started or hit the shutdown. */
  fatalError?: string;
  /** The message of the error that failed the startup (`init()` or `listen()`), when this run rolled it back (reason `startup-failed`). */
  startupError?: string;
  /** When this run rolled back a failed (or interrupted) startup: where it failed, what was rolled back, what never started. */
  startup?: StartupRollbackReport;
  /** `process.exit()` calls made during the shutdown; the highest code among them and the outcome's is the exit code. */
  exitCalls?: ExitCall[];
  /** Child processes the application started that were still running after Nest's hooks, and how each was stopped. */
  children?: ChildProcessReport[];
  /** Worker threads the application started that were still running after Nest's hooks, terminated and awaited. */
  workers?: WorkerThreadReport[];
  /**
   * What would still keep the process alive when the shutdown ended (servers,
   * sockets, child processes, timers created since the module started): a
   * leak to fix. Does not change the exit code.
   */
  openHandles?: OpenHandleReport[];
  /** The process exit code this outcome stands for (see `GracefulExitCode`). */
  exitCode: number;
}
