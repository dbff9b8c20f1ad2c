/** Options of the `@OnDrain()` decorator. */
export interface OnDrainOptions {
  /**
   * How long the method may take; then its signal aborts and the drain
   * reports it as not stopped in time. Never longer than the drain itself.
   * @default the module's `drainTimeoutMs`
   */
  timeout?: number;
}
