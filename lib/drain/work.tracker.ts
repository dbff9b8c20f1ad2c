import { WaitList } from './wait-list.js';

/** Work the drain waits for besides HTTP requests: jobs, messages, streams. */
export class WorkTracker {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly idle = new WaitList();

  /** Registers `work` (a promise, or a function to call now) and returns its promise. */
  track<T>(work: Promise<T> | (() => T | Promise<T>)): Promise<T> {
    const promise = typeof work === 'function' ? Promise.resolve().then(work) : Promise.resolve(work);
    this.pending.add(promise);
    const forget = () => {
      this.pending.delete(promise);
      if (this.pending.size === 0) this.idle.release();
    };
    promise.then(forget, forget);
    return promise;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves once no tracked work is pending, work tracked meanwhile included. */
  settled(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return this.idle.wait();
  }
}
