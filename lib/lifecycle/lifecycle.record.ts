import { Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { GracefulEvent } from '../interfaces/graceful-event.interface.js';
import type { ShutdownReport } from '../interfaces/shutdown-report.interface.js';
import { canMove, isShuttingDown, type LifecycleState } from './lifecycle.machine.js';

export type { LifecycleState } from './lifecycle.machine.js';

/** One listener, called while `live`: one removed during a call is not called after. */
interface Listening<T> {
  readonly call: (value: T) => void;
  live: boolean;
}

/**
 * Listeners called synchronously in the order added, each call over the
 * list as it was when the call began (as an RxJS Subject does). What the
 * module's own parts listen through: the startup runs no RxJS code (its
 * first use costs milliseconds of compiling), users get Observables over it.
 */
class Listeners<T> {
  private list: Array<Listening<T>> = [];

  add(call: (value: T) => void): () => void {
    const listening: Listening<T> = { call, live: true };
    this.list = [...this.list, listening];
    return () => {
      if (!listening.live) return;
      listening.live = false;
      this.list = this.list.filter((each) => each !== listening);
    };
  }

  call(value: T): void {
    for (const listening of this.list) {
      if (!listening.live) continue;
      try {
        listening.call(value);
      } catch (error) {
        // As RxJS reports an error thrown by a subscriber: out of band, never into the one who emitted.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}

/** The shared record of the lifecycle: state, events, and what went wrong. */
@Injectable()
export class LifecycleRecord {
  private current: LifecycleState = 'starting';
  private readonly stateListeners = new Listeners<LifecycleState>();
  private readonly eventListeners = new Listeners<GracefulEvent>();
  /** The state now and every change after it (each subscriber sees no state twice in a row). */
  readonly state$: Observable<LifecycleState> = new Observable<LifecycleState>((subscriber) => {
    let last: LifecycleState | undefined;
    const next = (state: LifecycleState) => {
      if (state === last) return;
      last = state;
      subscriber.next(state);
    };
    // Listening first: a move made by the subscriber as it gets the state now is seen too.
    const off = this.stateListeners.add(next);
    next(this.current);
    return off;
  });
  readonly events$: Observable<GracefulEvent> = new Observable<GracefulEvent>((subscriber) => this.eventListeners.add((event) => subscriber.next(event)));
  /** Why the shutdown started, from its start on. */
  reason?: string;
  /** Epoch milliseconds by which the shutdown must be over, from its start on. */
  deadline?: number;
  /** Set when the shutdown deadline passed. */
  deadlineExceeded = false;
  /** Set when a fatal error was recorded. */
  fatalError?: unknown;
  lastReport?: ShutdownReport;
  /** When the readiness indicator last answered: someone probes it (a balancer, the kubelet). */
  readinessProbedAt?: number;
  /** Set while the readiness delay waits for a probe to see it down. */
  onReadinessDown?: () => void;
  /** Why the application left the balancer (`markUnready`), until `markReady`. */
  unreadyReason?: string;
  /** Set once the application served and every startup task had ended; never unset. */
  started = false;
  private serving = false;
  /** Work readiness waits for (warm-ups, `holdReadiness`, sources connecting), by a key of each, with when it began. */
  private readonly holds = new Map<symbol, { name: string; start: number }>();

  get state(): LifecycleState {
    return this.current;
  }

  /** Calls `listener` with each new state (not the state now); returns what stops it. */
  onState(listener: (state: LifecycleState) => void): () => void {
    return this.stateListeners.add(listener);
  }

  /** Calls `listener` with each event from now on; returns what stops it. */
  onEvent(listener: (event: GracefulEvent) => void): () => void {
    return this.eventListeners.add(listener);
  }

  /** The names of the work readiness waits for now. */
  get holding(): string[] {
    return [...new Set([...this.holds.values()].map((held) => held.name))];
  }

  /** What holds readiness now, each with when it began (what a startup timeout names). */
  get held(): Array<{ name: string; start: number }> {
    return [...this.holds.values()];
  }

  /** Moves to `next` if the machine allows it from here (lifecycle.machine.ts); any other move does nothing. */
  advance(next: LifecycleState): void {
    this.move(next);
  }

  /** The application serves (listens, or has started without an HTTP server): ready once nothing holds it. */
  serve(): void {
    this.serving = true;
    this.settle();
  }

  /** Keeps readiness down until the returned function is called (once is enough; more calls do nothing). */
  hold(name: string): () => void {
    const key = Symbol(name);
    this.holds.set(key, { name, start: Date.now() });
    this.settle();
    return () => {
      if (this.holds.delete(key)) this.settle();
    };
  }

  /** Leaves the balancer with `reason` (a later call replaces it); nothing once the shutdown began. */
  markUnready(reason: string): void {
    if (this.shuttingDown) return;
    this.unreadyReason = reason;
    this.settle();
  }

  /** Rejoins the balancer, if nothing else holds readiness down; nothing once the shutdown began. */
  markReady(): void {
    if (this.shuttingDown) return;
    this.unreadyReason = undefined;
    this.settle();
  }

  emit(event: GracefulEvent): void {
    this.eventListeners.call(event);
  }

  private get shuttingDown(): boolean {
    return isShuttingDown(this.current);
  }

  /** The one place that decides between starting, ready and unready. */
  private settle(): void {
    if (this.shuttingDown) return;
    if (!this.started) {
      if (!this.serving || this.holds.size > 0) return;
      this.started = true;
      this.emit({ type: 'started', at: Date.now() });
    }
    const next = this.holds.size > 0 || this.unreadyReason !== undefined ? 'unready' : 'ready';
    if (next !== this.current) this.move(next);
  }

  /** The one writer of the state: only the machine's allowed moves happen (any other is a no-op). */
  private move(next: LifecycleState): void {
    if (!canMove(this.current, next)) return;
    this.current = next;
    this.stateListeners.call(next);
    this.emit({ type: 'state', state: next, at: Date.now() });
  }
}
