/** What an `@OnShutdown()` method receives. */
export interface ShutdownContext {
  /** Aborts when this hook's time is up (its timeout, or the shutdown deadline). */
  signal: AbortSignal;
  /** Why the application stops: a signal's name, `'close'` for `app.close()`, `'error'`, or the reason given to `shutdown()`. */
  reason: string;
  /** Epoch milliseconds by which the whole shutdown must be over. */
  deadline: number;
}
