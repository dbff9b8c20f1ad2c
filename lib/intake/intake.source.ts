import type { IntakeKind } from '../interfaces/shutdown-report.interface.js';
import { WaitList } from '../drain/wait-list.js';
import { untilAborted } from '../shutdown/abortable-delay.js';

/**
 * A source of work the drain stops: it stops taking new work, then waits for
 * the work it has taken. All sources drain together, at the start of the
 * drain stage and before any `@OnShutdown()` hook.
 */
export interface IntakeSource {
  /** As the plan and the timeline name it, e.g. `BullMQ worker "orders"`. */
  readonly name: string;
  readonly kind: IntakeKind;
  /** What it counts: `request`, `stream`, `socket`, `message`, `job`, `callback`, `task`. */
  readonly unit: string;
  /**
   * Stops the intake and resolves once the work taken has finished, or soon
   * after `signal` aborts (the drain timeout or the deadline). May reject:
   * the drain reports the source as failed and goes on.
   */
  drain(signal: AbortSignal): Promise<void>;
  /** Work finished since the drain began. */
  finished(): number;
  /** Work still running now. */
  running(): number;
  /**
   * Work it took and could not finish delivering (a reply or an ack the
   * transport rejected): counted in the report, and the exit code is 1.
   */
  lost?(): number;
  /**
   * Resolves once the source takes work: a worker's connections are ready,
   * a server listens. Readiness stays down until then at startup (the hold
   * is named `<name> connecting`). `undefined` when it takes work already or
   * cannot tell. A rejection ends the wait (logged): the source could not
   * say. Whatever it listens to is let go once `signal` aborts (the
   * shutdown began, or the wait is over).
   */
  connected?(signal: AbortSignal): Promise<void> | undefined;
}

/** Counts work in progress and lets the drain wait until there is none. */
export class InFlight {
  private count = 0;
  private done = 0;
  private counting = false;
  private readonly idle = new WaitList();

  get size(): number {
    return this.count;
  }

  /** Work finished since `startCounting()`. */
  get finished(): number {
    return this.done;
  }

  startCounting(): void {
    this.counting = true;
  }

  enter(): void {
    this.count++;
  }

  leave(): void {
    this.count--;
    if (this.counting) this.done++;
    if (this.count === 0) this.idle.release();
  }

  /** Counts `work` (the promise of a call) while it runs. */
  around<T>(work: () => T): T {
    this.enter();
    let result: T;
    try {
      result = work();
    } catch (error) {
      this.leave();
      throw error;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.leave(),
        () => this.leave(),
      );
    } else {
      this.leave();
    }
    return result;
  }

  /** Resolves once nothing is in progress, or `signal` aborts. */
  async settled(signal: AbortSignal): Promise<void> {
    while (this.count > 0 && !signal.aborted) await untilAborted(this.idle.wait(), signal);
  }
}
