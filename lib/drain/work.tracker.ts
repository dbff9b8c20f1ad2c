import { InFlight } from '../intake/intake.source.js';

/** Tracked work: a promise, or a function called at once with an `AbortSignal` that aborts when the drain ends. */
export type TrackedWork<T> = Promise<T> | ((signal: AbortSignal) => T | Promise<T>);

/**
 * Work the drain waits for besides what the integrations count: the app's
 * own jobs, messages and streams, registered with `track()`.
 */
export class WorkTracker {
  private readonly inFlight = new InFlight();
  private readonly stopping = new AbortController();

  /** Registers `work` and returns its promise. A function is called now, with the drain's `AbortSignal`. */
  track<T>(work: TrackedWork<T>): Promise<T> {
    const promise = typeof work === 'function' ? Promise.resolve().then(() => work(this.stopping.signal)) : Promise.resolve(work);
    void this.inFlight.around(() => promise);
    return promise;
  }

  /** Tasks not settled yet. */
  get size(): number {
    return this.inFlight.size;
  }

  /** Tasks settled since the drain began. */
  get finished(): number {
    return this.inFlight.finished;
  }

  /** Whether anything was ever tracked: the drain lists `track()` only then. */
  get used(): boolean {
    return this.inFlight.size > 0 || this.inFlight.finished > 0;
  }

  startCounting(): void {
    this.inFlight.startCounting();
  }

  /** Resolves once no tracked work is pending (work tracked meanwhile included), or `signal` aborts. */
  settled(signal: AbortSignal): Promise<void> {
    return this.inFlight.settled(signal);
  }

  /** The drain has ended: aborts the signal handed to tracked work. */
  abort(reason: unknown): void {
    this.stopping.abort(reason);
  }
}
