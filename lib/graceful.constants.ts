/** Injection token of the resolved module options. */
export const GRACEFUL_MODULE_OPTIONS = 'GRACEFUL:MODULE_OPTIONS';
/** Metadata key written by `@OnShutdown()` on a method. */
export const ON_SHUTDOWN_METADATA = 'GRACEFUL:ON_SHUTDOWN';
/** On a class: the names of its (and its ancestors') `@OnShutdown()` methods. */
export const ON_SHUTDOWN_METHODS = 'GRACEFUL:ON_SHUTDOWN_METHODS';
/** Metadata key written by `@OnDrain()` on a method. */
export const ON_DRAIN_METADATA = 'GRACEFUL:ON_DRAIN';
/** On a class: the names of its (and its ancestors') `@OnDrain()` methods. */
export const ON_DRAIN_METHODS = 'GRACEFUL:ON_DRAIN_METHODS';
/** Metadata key written by `@WarmUp()` on a method. */
export const WARM_UP_METADATA = 'GRACEFUL:WARM_UP';
/** On a class: the names of its (and its ancestors') `@WarmUp()` methods. */
export const WARM_UP_METHODS = 'GRACEFUL:WARM_UP_METHODS';

export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;
/** How long a `@WarmUp()` method may run by default. */
export const DEFAULT_WARM_UP_TIMEOUT_MS = 60_000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;
export const DEFAULT_SIGNALS: readonly string[] = ['SIGTERM', 'SIGINT'];
/** The longest readiness delay by default (within 40 % of the deadline). */
export const DEFAULT_READINESS_DELAY_MS = 5_000;
/** On Kubernetes the delay never ends before this: endpoint removal does not go through the probe. */
export const DEFAULT_KUBERNETES_MIN_DELAY_MS = 3_000;
/** How long only probes must have arrived for the delay to end early. */
export const DEFAULT_READINESS_QUIET_MS = 1_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_FINAL_TIMEOUT_MS = 1_000;
/** How long after the deadline the watchdog ends a process whose event loop is blocked. */
export const WATCHDOG_MARGIN_MS = 500;
/** The largest delay a Node.js timer accepts. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Exit codes of a process that the module ends.
 *
 * - `Clean` (0): every hook and the drain ended in time and without error.
 * - `Failed` (1): a hook threw or timed out, requests were cut at the drain
 *   timeout, Nest's own shutdown threw, or a fatal error started the shutdown.
 * - `DeadlineExceeded` (124): `shutdownTimeoutMs` passed before the shutdown ended.
 * - `Interrupted` (130): a second SIGINT (Ctrl+C twice) during the shutdown.
 */
export const GracefulExitCode = {
  Clean: 0,
  Failed: 1,
  DeadlineExceeded: 124,
  Interrupted: 130,
} as const;
export type GracefulExitCode = (typeof GracefulExitCode)[keyof typeof GracefulExitCode];

/**
 * How long a signal that arrives during the startup (a hung `onModuleInit`,
 * `listen()`) waits for the step under way to end before the rollback starts
 * without it: a step about to end may end, so that its destroy hook finds it
 * whole; one that hangs is left behind, named.
 */
export const STARTUP_ABORT_MS = 1000;
