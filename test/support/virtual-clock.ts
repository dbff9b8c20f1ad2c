import type { Clock } from '../../lib/scheduler/scheduler.clock.js';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock whose time moves only from timer to timer: a run that takes
 * seconds of virtual time takes microseconds of real time, and every start
 * and end time is exact.
 */
export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { at: this.time + ms, seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    (handle as Timer).cancelled = true;
  }

  /** A promise that resolves after `ms` of virtual time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /**
   * Lets every pending promise reaction run, then fires the earliest timer,
   * until `work` settles. Throws if nothing is left to fire and `work` is
   * still pending (a scheduler that waits forever).
   */
  async drive<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    void work.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) return work;
      this.timers = this.timers.filter((t) => !t.cancelled);
      if (this.timers.length === 0) throw new Error(`stuck at virtual time ${this.time}: no timer left and the work has not settled`);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      this.time = next.at;
      next.callback();
    }
  }
}
