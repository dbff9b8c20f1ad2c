/**
 * What an `@OnShutdown()` or `@OnDrain()` method receives.
 *
 * A class with no behaviour rather than an interface, so that it has a
 * runtime value: `import { ShutdownContext } from 'nestjs-graceful'` in a
 * decorated method's signature then compiles under `isolatedModules` with
 * `emitDecoratorMetadata` (the Nest CLI templates' settings), where an
 * interface fails with TS1272. It is never constructed: the module passes a
 * plain object of this shape, and it is used only as a type.
 */
export abstract class ShutdownContext {
  /** Aborts when this hook's time is up (its timeout, or the shutdown deadline). */
  abstract signal: AbortSignal;
  /** Why the application stops: a signal's name, `'close'` for `app.close()`, `'error'`, or the reason given to `shutdown()`. */
  abstract reason: string;
  /** Epoch milliseconds by which the whole shutdown must be over. */
  abstract deadline: number;
}
