/** Options of the `@OnShutdown()` decorator. */
export interface OnShutdownOptions {
  /**
   * Hooks run by ascending `order`: every hook of a lower order has ended
   * before any hook of a higher order starts. Within one order, dependents
   * stop before what they depend on.
   * @default 0
   */
  order?: number;
  /**
   * This hook's own timeout in milliseconds.
   * @default the module's `hookTimeoutMs`
   */
  timeout?: number;
  /**
   * Run in the final phase: after every other hook and Nest's own hooks, and
   * even when the shutdown deadline has passed, within `finalTimeoutMs`. For
   * flushing logs, telemetry and audit records.
   * @default false
   */
  final?: boolean;
}
