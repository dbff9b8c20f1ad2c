/** What a queue client (a BullMQ worker, a Bull queue) tells of its jobs. */
export interface JobEvents {
  on(event: 'active' | 'completed' | 'failed', listener: () => void): unknown;
}

/**
 * The jobs of a queue client, counted from its events: those active now,
 * and those finished (completed or failed) since the drain began.
 */
export class JobCounter {
  private active = 0;
  private done = 0;
  /** Set when the drain began. */
  draining = false;

  constructor(events: JobEvents) {
    events.on('active', () => this.active++);
    const ended = () => {
      this.active = Math.max(0, this.active - 1);
      if (this.draining) this.done++;
    };
    events.on('completed', ended);
    events.on('failed', ended);
  }

  get finished(): number {
    return this.done;
  }

  /** Until `stopped`, at least one job once the drain began: the client's own wait is what ends it. */
  running(stopped: boolean): number {
    if (stopped) return 0;
    return this.draining ? Math.max(this.active, 1) : this.active;
  }
}
