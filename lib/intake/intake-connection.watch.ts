import type { IntakeSource } from './intake.source.js';

/** How a wait for a source's connection ended: connected (`ok`), or the source could not say (`error`). */
export type ConnectionOutcome = 'ok' | 'error';

/** Holds readiness under `name`; the returned function ends the hold (once), telling how the wait ended. */
export type ConnectionHold = (name: string) => (outcome: ConnectionOutcome, error?: unknown) => void;

/** What readiness waits for while a source connects: `BullMQ worker "emails" (EmailProcessor) connecting`. */
export function connectingName(source: Pick<IntakeSource, 'name'>): string {
  return `${source.name} connecting`;
}

/**
 * At startup, readiness waits for the intake the drain knows to take work:
 * each source that can tell (`IntakeSource.connected()`) and is not
 * connected yet holds readiness until it is. A source whose answer throws or
 * rejects ends its hold with `error` (it could not say; readiness does not
 * wait forever on a question nobody can answer). Once `signal` aborts (the
 * shutdown began) nothing is waited for and no hold is ended: the lifecycle
 * has left the startup. Resolves once every wait has ended (or `signal`
 * aborted), with the names held.
 */
export async function holdUntilConnected(sources: readonly IntakeSource[], hold: ConnectionHold, signal: AbortSignal): Promise<string[]> {
  if (signal.aborted) return [];
  const held: string[] = [];
  const waits: Array<Promise<void>> = [];
  for (const source of sources) {
    if (typeof source.connected !== 'function') continue;
    let waiting: Promise<void> | undefined;
    try {
      waiting = source.connected(signal);
    } catch (error) {
      waiting = Promise.reject(error as Error);
    }
    if (waiting === undefined) continue;
    const name = connectingName(source);
    held.push(name);
    const end = hold(name);
    waits.push(
      untilAbort(waiting, signal).then(
        (aborted) => {
          if (!aborted) end('ok');
        },
        (error: unknown) => {
          if (!signal.aborted) end('error', error);
        },
      ),
    );
  }
  await Promise.all(waits);
  return held;
}

/** Settles as `work` does, or resolves `true` once `signal` aborts. */
function untilAbort(work: Promise<void>, signal: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const onAbort = () => resolve(true);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(false);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
