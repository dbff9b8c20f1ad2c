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
   * @default 25000, or on a detected platform its grace period less
   * `preStopMs` and a margin (5 s of 20 s or more, else 1 s): Cloud Run and
   * Docker 9000, ECS 25000, PM2 1200
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
   * Records where every server, socket, child process and timer is created,
   * so that those still open when the shutdown ends are named with the place
   * that opened them (`openHandles` in the report, the log, and
   * `assertNoOpenHandles()` in tests). Costs a stack trace per resource
   * created: for tests and debugging, not production.
   * @default false
   */
  traceHandles?: boolean;
  /**
   * After SIGTERM (or `shutdown()`), readiness reports down while the server
   * still serves, so that load balancers stop routing to this instance. This
   * is the longest that delay takes: it ends earlier once the readiness
   * indicator has answered down at least once and nothing but probes has
   * arrived for `readinessQuietMs`, never before `readinessMinDelayMs`.
   * SIGINT and `app.close()` skip it. Setting it fixes the bound; set
   * `readinessMinDelayMs` to the same value for a fixed delay.
   * @default Kubernetes 5000; Cloud Run and ECS 0 (they stop routing before
   * SIGTERM); elsewhere 5000 (at most 40 % of the deadline) if the readiness
   * indicator was probed before the signal, else 0. Less `preStopMs`.
   */
  readinessDelayMs?: number;
  /**
   * The readiness delay never ends before this, however quiet the traffic:
   * for balancers that learn of the shutdown otherwise than through the
   * probe (Kubernetes endpoints), and low-traffic services where a quiet
   * second proves little.
   * @default 3000 on Kubernetes (less `preStopMs`), otherwise 0
   */
  readinessMinDelayMs?: number;
  /**
   * How long nothing but probes must have arrived, after a readiness probe
   * saw the instance down, for the readiness delay to end early.
   * @default 1000
   */
  readinessQuietMs?: number;
  /**
   * The platform whose time budget sets the defaults of `gracePeriodMs`,
   * `shutdownTimeoutMs`, `drainTimeoutMs` and the readiness delay. Detected
   * from the environment: Kubernetes (`KUBERNETES_SERVICE_HOST`), Cloud Run
   * (`K_SERVICE`), ECS (`ECS_CONTAINER_METADATA_URI_V4`), PM2 (`pm_id` and
   * an IPC channel), Docker (`/.dockerenv`); `'none'` keeps the plain defaults.
   * @default detected
   */
  platform?: 'kubernetes' | 'cloud-run' | 'ecs' | 'docker' | 'pm2' | 'none';
  /**
   * The length of a `preStop` hook (such as Kubernetes' built-in `sleep`
   * action) that runs before SIGTERM: it counts against the grace period,
   * so the budget check and the default deadline leave room for it, and the
   * default readiness delay is shortened by it (the balancers had that time already).
   * @default 0
   */
  preStopMs?: number;
  /**
   * How long in-flight requests and tracked work may take to finish once the
   * server stops accepting; what is left then is cut.
   * @default 10000, or 40 % of a shorter deadline
   */
  drainTimeoutMs?: number;
  /**
   * The time the platform gives from SIGTERM to SIGKILL (the pod's
   * `terminationGracePeriodSeconds`, PM2's `kill_timeout`...). The startup
   * check makes sure `preStopMs` + `shutdownTimeoutMs` fit inside it with
   * time to spare; on a detected platform the default deadline is derived from it.
   * @default the detected platform's: Kubernetes 30000, Cloud Run 10000,
   * ECS 30000 (or `ECS_CONTAINER_STOP_TIMEOUT`), Docker 10000, PM2 1600 (or
   * its `kill_timeout`); undefined (not checked) elsewhere
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
   * How long the startup may take, from `init()` (or `listen()`) until it has
   * started: Nest's `onModuleInit` / `onApplicationBootstrap` hooks,
   * `listen()`, and the `@WarmUp()` methods. When it has not ended in time,
   * the log names what still runs (`DatabaseService.onModuleInit, running
   * 12.0 s`) and the startup fails: rolled back like a failed `init()`
   * (reason `'startup-failed'`, exit code 1 when the module handles signals).
   * Unset, the startup is unbounded, as in Nest (a Kubernetes `startupProbe`
   * bounds it from outside).
   * @default undefined (no bound)
   */
  startupTimeoutMs?: number;
  /**
   * At startup, readiness (and `isStarted()`) also waits for the intake the
   * drain knows to be connected: BullMQ workers ready (both connections),
   * Bull queues with processors connected, microservice servers listening
   * (Nest's `listen()` callback: a RabbitMQ channel consuming, a NATS or
   * Redis subscription made, a TCP port bound). Until then the probe answers
   * `starting` and its details name each source (`RabbitMQ microservice
   * connecting`). Set `false` for an application whose HTTP side should
   * take traffic while its workers' broker is still down.
   * @default true
   */
  readinessWaitsForIntake?: boolean;
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
  /**
   * Every WebSocket of the application: gateways (ws and socket.io) stop
   * reading, answer what they took, and close their clients; every other
   * WebSocket on a drained server (GraphQL subscriptions, a `ws` server,
   * @fastify/websocket) is closed with 1001; no upgrade is accepted from the drain on.
   * @default true
   */
  websockets?: boolean;
  /** @nestjs/microservices servers stop receiving, finish their handlers and close. @default true */
  microservices?: boolean;
  /** @nestjs/bullmq workers stop fetching and finish their active jobs. @default true */
  bullmq?: boolean;
  /** @nestjs/bull (legacy Bull) queues with processors stop fetching and finish their active jobs. @default true */
  bull?: boolean;
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
