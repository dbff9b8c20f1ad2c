/**
 * Runs a stop plan: phase after phase; inside a phase every unit starts as
 * soon as the units it waits for have ended; each hook within its timeout,
 * with an AbortSignal; a failure or a timeout never stops the rest. Pure: it
 * knows hooks only as specs and calls them through `invoke`.
 */
import { HookTimeoutError } from '../errors/hook-timeout.error.js';
import { MESSAGES } from '../graceful.messages.js';
import type { HookOutcome } from '../interfaces/shutdown-report.interface.js';
import type { HookSpec, StopPhase, StopPlan, StopUnit } from '../graph/stop-plan.types.js';
import { systemClock, type Clock } from './scheduler.clock.js';

export interface HookRun {
  hook: HookSpec;
  /** Clock times; absent when skipped. */
  start?: number;
  end?: number;
  outcome: HookOutcome;
  error?: unknown;
}

export type HookInvoker = (hook: HookSpec, signal: AbortSignal) => unknown;

export interface SchedulerListener {
  hookStarted?(hook: HookSpec, at: number): void;
  hookEnded?(run: HookRun): void;
}

export class StopScheduler {
  private readonly running = new Map<string, { hook: HookSpec; cut: (reason: unknown) => void }>();
  private stopReason: unknown;
  private stopped = false;

  constructor(
    private readonly plan: StopPlan,
    private readonly invoke: HookInvoker,
    private readonly clock: Clock = systemClock,
    private readonly listener: SchedulerListener = {},
  ) {}

  /** Runs every phase; resolves with one run per hook, in the order they ended. Never rejects. */
  async run(): Promise<HookRun[]> {
    const runs: HookRun[] = [];
    for (const phase of this.plan.phases) await this.runPhase(phase, runs);
    return runs;
  }

  /**
   * Ends the run now: running hooks are aborted with `reason` and reported as
   * timed out, hooks not started yet are skipped.
   */
  stop(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopReason = reason;
    for (const { cut } of [...this.running.values()]) cut(reason);
  }

  /** The hooks running now. */
  runningHooks(): HookSpec[] {
    return [...this.running.values()].map((entry) => entry.hook);
  }

  /** A listener that throws must not stall the run. */
  private tell(notify: () => void): void {
    try {
      notify();
    } catch {
      // The listener's own problem; the run goes on.
    }
  }

  private runPhase(phase: StopPhase, runs: HookRun[]): Promise<void> {
    return new Promise((resolve) => {
      const waitingFor = new Map<string, number>();
      const waiters = new Map<string, StopUnit[]>();
      for (const unit of phase.units) {
        waitingFor.set(unit.id, unit.after.length);
        for (const id of unit.after) waiters.set(id, [...(waiters.get(id) ?? []), unit]);
      }
      let remaining = phase.units.length;
      if (remaining === 0) return resolve();
      const start = (unit: StopUnit): void => {
        void this.runUnit(unit, runs).then(() => {
          for (const waiter of waiters.get(unit.id) ?? []) {
            const left = waitingFor.get(waiter.id)! - 1;
            waitingFor.set(waiter.id, left);
            if (left === 0) start(waiter);
          }
          if (--remaining === 0) resolve();
        });
      };
      for (const unit of phase.units) if (unit.after.length === 0) start(unit);
    });
  }

  private async runUnit(unit: StopUnit, runs: HookRun[]): Promise<void> {
    for (const hook of unit.hooks) runs.push(await this.runHook(hook));
  }

  private runHook(hook: HookSpec): Promise<HookRun> {
    if (this.stopped) {
      const run: HookRun = { hook, outcome: 'skipped', error: this.stopReason };
      this.tell(() => this.listener.hookEnded?.(run));
      return Promise.resolve(run);
    }
    const controller = new AbortController();
    const start = this.clock.now();
    this.tell(() => this.listener.hookStarted?.(hook, start));
    return new Promise<HookRun>((resolve) => {
      let settled = false;
      const settle = (outcome: HookOutcome, error?: unknown) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        this.running.delete(hook.key);
        const end = this.clock.now();
        // A hook that blocked the event loop past its timeout kept its timer
        // from firing: it overran all the same, and is not reported 'ok'.
        if (outcome === 'ok' && end - start > hook.timeoutMs) {
          outcome = 'timeout';
          error = new HookTimeoutError(MESSAGES.hookTimeoutReason(hook.name, hook.timeoutMs));
        }
        if (outcome === 'timeout') controller.abort(error);
        const run: HookRun = { hook, start, end, outcome, error };
        this.tell(() => this.listener.hookEnded?.(run));
        resolve(run);
      };
      const timer = this.clock.setTimeout(() => settle('timeout', new HookTimeoutError(MESSAGES.hookTimeoutReason(hook.name, hook.timeoutMs))), hook.timeoutMs);
      this.running.set(hook.key, { hook, cut: (reason) => settle('timeout', reason) });
      Promise.resolve()
        .then(() => this.invoke(hook, controller.signal))
        .then(
          () => settle('ok'),
          (error: unknown) => settle('error', error),
        );
    });
  }
}
