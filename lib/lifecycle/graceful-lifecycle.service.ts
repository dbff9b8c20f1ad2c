import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { WorkTracker, type TrackedWork } from '../drain/work.tracker.js';
import type { StopPlan } from '../graph/stop-plan.types.js';
import type { Server as HttpServer } from 'node:http';
import type { Http2SecureServer, Http2Server } from 'node:http2';
import type { Server as HttpsServer } from 'node:https';
import type { GracefulEvent } from '../interfaces/graceful-event.interface.js';
import type { ShutdownReport } from '../interfaces/shutdown-report.interface.js';
import { ShutdownPlanner } from '../shutdown/shutdown.planner.js';
import { ShutdownSequence } from '../shutdown/shutdown.sequence.js';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { MESSAGES } from '../graceful.messages.js';
import { isShuttingDown } from './lifecycle.machine.js';
import { LifecycleRecord, type LifecycleState } from './lifecycle.record.js';
import { ReadinessHolder, type HeldWork } from './readiness.holder.js';

/** What `drainServer()` takes: a Node.js http, https or http2 server. */
export type DrainServerTarget = HttpServer | HttpsServer | Http2Server | Http2SecureServer;

/** The application's lifecycle: its state, its stop plan, and a way to stop it. */
@Injectable()
export class GracefulLifecycleService {
  constructor(
    private readonly record: LifecycleRecord,
    private readonly sequence: ShutdownSequence,
    private readonly planner: ShutdownPlanner,
    private readonly work: WorkTracker,
    private readonly readiness: ReadinessHolder,
  ) {}

  /** `'starting' | 'ready' | 'unready' | 'draining' | 'stopping' | 'stopped' | 'failed'` (lifecycle.machine.ts has the allowed moves) */
  get state(): LifecycleState {
    return this.record.state;
  }

  /** The state now and every change after it. */
  get state$(): Observable<LifecycleState> {
    return this.record.state$;
  }

  /** State changes and each hook's start, end, error and timeout, as they happen. */
  get events$(): Observable<GracefulEvent> {
    return this.record.events$;
  }

  /** True once the application served and every startup task (warm-ups, held work) had ended; never false after. */
  isStarted(): boolean {
    return this.record.started;
  }

  /**
   * Keeps readiness down while `work` runs: a promise, or a function called
   * now that returns one. At startup the application stays `starting` until
   * it ends; later it is `unready` meanwhile, with `name` in the readiness
   * probe's details. Returns the work's promise: a rejection releases the
   * hold and reaches the caller.
   *
   * @example
   * ```ts
   * void this.lifecycle.holdReadiness('reconnect to Redis', () => this.redis.connect());
   * ```
   */
  holdReadiness<T>(name: string, work: HeldWork<T>): Promise<T> {
    return this.readiness.hold(name, work);
  }

  /**
   * Leaves the balancer: readiness reports down, with `reason` in its
   * details, until `markReady()`. The application goes on serving. Does
   * nothing once the shutdown has begun.
   */
  markUnready(reason: string): void {
    if (typeof reason !== 'string' || reason.trim() === '') throw new InvalidGracefulOptionsError(MESSAGES.invalidUnreadyReason(reason));
    this.record.markUnready(reason);
  }

  /** Rejoins the balancer after `markUnready()` (readiness up, unless held work still runs). Does nothing once the shutdown has begun. */
  markReady(): void {
    this.record.markReady();
  }

  /** True from the signal on. */
  isShuttingDown(): boolean {
    return isShuttingDown(this.state);
  }

  /**
   * Does what SIGTERM does (readiness delay, drain, hooks, Nest's hooks, exit)
   * with `reason` recorded. Idempotent: every call returns the same promise.
   */
  shutdown(reason = 'shutdown'): Promise<ShutdownReport> {
    return this.sequence.begin(reason, { delay: true, exit: true });
  }

  /**
   * Aborts when the drain begins (after the readiness delay, when the
   * servers stop accepting): a long-poll, a stream or a long download that
   * listens to it can answer or end now, instead of being cut at
   * `drainTimeoutMs`. Its reason is an `AbortError` naming the shutdown's reason.
   */
  get drainSignal(): AbortSignal {
    return this.sequence.drainSignal;
  }

  /**
   * Drains `server` with the application's servers: a server the
   * application runs beside Nest (metrics, an admin port), or one more it
   * is served through. At the drain it stops accepting, its idle
   * keep-alive connections close, the requests in flight finish (cut at
   * `drainTimeoutMs`), at the same time as the others; the report and the
   * timeline give it a row, named `name` (default: `HTTP :<port>`).
   * Throws if `server` is not a Node.js http, https or http2 server.
   */
  drainServer(server: DrainServerTarget, name?: string): void {
    this.sequence.drainServer(server, name);
  }

  /** The computed stop order: phases by `order`, in each the units and what each waits for. */
  plan(): StopPlan {
    return this.planner.plan;
  }

  /** The stop order of the `final: true` hooks, which run after everything else. */
  finalPlan(): StopPlan {
    return this.planner.finalPlan;
  }

  /** The plan as text, as the startup log shows it (`logPlan`). */
  describePlan(): string {
    return this.planner.describePlan();
  }

  /** The report of the last shutdown, once it has ended. */
  get lastReport(): ShutdownReport | undefined {
    return this.record.lastReport;
  }

  /**
   * Registers work that the drain waits for (up to `drainTimeoutMs`) before
   * the hooks run: a promise, or a function called now with an `AbortSignal`
   * that aborts when the drain ends with the work still running (then the
   * report counts it as still running; stop it when the signal aborts).
   * Returns its promise.
   */
  track<T>(work: TrackedWork<T>): Promise<T> {
    return this.work.track(work);
  }
}
