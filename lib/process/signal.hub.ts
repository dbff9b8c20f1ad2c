/**
 * One process listener per signal, shared by every application in the
 * process (and every copy of this package: the hub lives on `globalThis`).
 * Each module subscribes its handler; the listener is added with the first
 * subscriber and removed with the last, so a module that unsubscribes leaves
 * the signal as it found it.
 */
type Handler = (signal: string) => void;

interface Entry {
  listener: (signal: string) => void;
  handlers: Set<Handler>;
}

/** Marks the module's own process listeners, so that any copy of the package tells them from the app's. */
export const MODULE_LISTENER = Symbol.for('nestjs-graceful.listener');
const HUB = Symbol.for('nestjs-graceful.signal-hub');

const entries: Map<string, Entry> =
  ((globalThis as Record<symbol, unknown>)[HUB] as Map<string, Entry> | undefined) ?? ((globalThis as Record<symbol, unknown>)[HUB] = new Map<string, Entry>());

/** Calls `handler` on every `signal` until the returned function is called. */
export function subscribeSignal(signal: string, handler: Handler): () => void {
  let entry = entries.get(signal);
  if (!entry) {
    const handlers = new Set<Handler>();
    const listener = (received: string) => {
      // A copy: a handler may unsubscribe (or subscribe) while the signal is dispatched.
      for (const each of [...handlers]) each(received ?? signal);
    };
    Object.defineProperty(listener, MODULE_LISTENER, { value: true });
    entry = { listener, handlers };
    entries.set(signal, entry);
    process.on(signal, listener);
  }
  // Each subscription its own: the same function subscribed twice is two subscriptions.
  const own: Handler = (received) => handler(received);
  entry.handlers.add(own);
  const current = entry;
  return () => {
    if (!current.handlers.delete(own) || current.handlers.size > 0) return;
    process.removeListener(signal, current.listener);
    if (entries.get(signal) === current) entries.delete(signal);
  };
}

/** How many subscriptions `signal` has, for tests. */
export function signalSubscribers(signal: string): number {
  return entries.get(signal)?.handlers.size ?? 0;
}
