import { Injectable } from '@nestjs/common';
import { BehaviorSubject, Subject, distinctUntilChanged, type Observable } from 'rxjs';
import type { GracefulEvent } from '../interfaces/graceful-event.interface.js';
import type { ShutdownReport } from '../interfaces/shutdown-report.interface.js';

/** Where the application is in its life. It only ever moves forward. */
export type LifecycleState = 'starting' | 'ready' | 'draining' | 'stopping' | 'stopped';

const RANK: Record<LifecycleState, number> = { starting: 0, ready: 1, draining: 2, stopping: 3, stopped: 4 };

/** The shared record of the lifecycle: state, events, and what went wrong. */
@Injectable()
export class LifecycleRecord {
  private readonly subject = new BehaviorSubject<LifecycleState>('starting');
  private readonly eventSubject = new Subject<GracefulEvent>();
  readonly state$: Observable<LifecycleState> = this.subject.pipe(distinctUntilChanged());
  readonly events$: Observable<GracefulEvent> = this.eventSubject.asObservable();
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

  get state(): LifecycleState {
    return this.subject.value;
  }

  /** Moves to `next` if it lies ahead; a later state is never undone. */
  advance(next: LifecycleState): void {
    if (RANK[next] <= RANK[this.subject.value]) return;
    this.subject.next(next);
    this.emit({ type: 'state', state: next, at: Date.now() });
  }

  emit(event: GracefulEvent): void {
    this.eventSubject.next(event);
  }
}
