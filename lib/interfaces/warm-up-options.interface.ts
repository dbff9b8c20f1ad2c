/** Options of the `@WarmUp()` decorator. */
export interface WarmUpOptions {
  /**
   * How long the warm-up may take; then its signal aborts, the warm-up
   * counts as failed and readiness stays down.
   * @default 60000
   */
  timeout?: number;
}

/** What a `@WarmUp()` method receives. */
export interface WarmUpContext {
  /** Aborts at the warm-up's timeout, or when the shutdown starts first. */
  signal: AbortSignal;
}
