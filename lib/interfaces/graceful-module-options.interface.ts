import type { LoggerService, ModuleMetadata } from '@nestjs/common';

/** Options of `GracefulModule.forRoot()`. Every duration is in milliseconds. */
export interface GracefulModuleOptions {
  /**
   * The timeout of an `@OnShutdown()` hook that names none. When it passes the
   * hook's `AbortSignal` aborts, the hook is reported as timed out and the
   * shutdown goes on without it.
   * @default 10000
   */
  hookTimeoutMs?: number;
  /**
   * The deadline of the whole shutdown, counted from the signal: the readiness
   * delay, the drain, the hooks and Nest's own hooks all count against it. When
   * it passes, the process logs what still runs and exits at once with 124.
   * Keep it below the pod's `terminationGracePeriodSeconds` (30 s by default).
   * @default 25000
   */
  shutdownTimeoutMs?: number;
  /**
   * The process signals that start the graceful shutdown. Signals that
   * `app.enableShutdownHooks()` listens to go through the same sequence.
   * @default ['SIGTERM', 'SIGINT']
   */
  signals?: string[];
  /**
   * Turns the startup warnings (a dependency cycle, an `order` that
   * contradicts a dependency, a budget that cannot work) into errors that
   * stop the application from starting.
   * @default false
   */
  strict?: boolean;
  /**
   * After SIGTERM (or `shutdown()`), how long readiness reports down while the
   * server still serves, so that load balancers stop routing to this instance.
   * SIGINT and `app.close()` skip it.
   * @default 5000 when `KUBERNETES_SERVICE_HOST` is set, otherwise 0
   */
  readinessDelayMs?: number;
  /**
   * How long in-flight requests and tracked work may take to finish once the
   * server stops accepting; what is left then is cut.
   * @default 10000
   */
  drainTimeoutMs?: number;
  /**
   * The pod's termination grace period, if you want the module to check at
   * startup that `shutdownTimeoutMs` fits inside it with a second to spare.
   * @default undefined (not checked)
   */
  gracePeriodMs?: number;
  /**
   * Where the module logs: a Nest `LoggerService`, or `false` for silence.
   * @default Nest's `Logger`
   */
  logger?: LoggerService | false;
  /**
   * Log the computed stop plan once at startup: `true` at log level, `false`
   * never. By default it is logged at debug level.
   * @default undefined (debug level)
   */
  logPlan?: boolean;
  /**
   * A file path to write each shutdown's report to, as JSON, before the
   * process exits.
   * @default undefined (not written)
   */
  reportFile?: string;
  /**
   * Turn an `uncaughtException` or `unhandledRejection` into the graceful
   * shutdown (reason `'error'`, exit code 1) instead of a crash. A second
   * fatal error during that shutdown exits at once.
   * @default true
   */
  handleFatalErrors?: boolean;
  /**
   * The part of `shutdownTimeoutMs` kept back for `@OnShutdown({ final: true })`
   * hooks, which run last and still run when the deadline has passed.
   * Reserved only when there are final hooks.
   * @default 1000
   */
  finalTimeoutMs?: number;
  /**
   * Which integrations stop their source of work at the drain. Each is on
   * by default and costs nothing when its package is not in use; set one to
   * `false` to leave that source to its package's own shutdown (after the
   * hooks). HTTP, `@OnDrain()` methods and `track()` are always drained.
   * @default every source on
   */
  intake?: IntakeOptions;
}

/** The integrations the drain stops; see `GracefulModuleOptions.intake`. */
export interface IntakeOptions {
  /** `@Sse()` streams end at the drain, so that they neither hold it nor count as cut. @default true */
  sse?: boolean;
  /** @nestjs/websockets gateways (ws and socket.io) turn new clients away and close theirs. @default true */
  websockets?: boolean;
  /** @nestjs/microservices servers stop receiving, finish their handlers and close. @default true */
  microservices?: boolean;
  /** @nestjs/bullmq workers stop fetching and finish their active jobs. @default true */
  bullmq?: boolean;
  /** @nestjs/schedule cron jobs, intervals and timeouts stop; running callbacks are awaited. @default true */
  schedule?: boolean;
}

/** Options of `GracefulModule.forRootAsync()`. */
export interface GracefulModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...args: any[]) => GracefulModuleOptions | Promise<GracefulModuleOptions>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  inject?: any[];
}
