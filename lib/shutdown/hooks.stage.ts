import type { HookCall, HookCalls } from '../discovery/shutdown-hook.explorer.js';
import { HookTimeoutError } from '../errors/hook-timeout.error.js';
import { MESSAGES } from '../graceful.messages.js';
import type { HookSpec, StopPlan } from '../graph/stop-plan.types.js';
import type { LifecycleRecord } from '../lifecycle/lifecycle.record.js';
import { messageOf, stackOf } from '../report/shutdown-report.builder.js';
import { StopScheduler, type HookRun } from '../scheduler/stop.scheduler.js';
import type { ShutdownRun } from './shutdown.run.js';

/** Wraps the call of a hook, by `Class.method`: how the testing utilities inject faults. */
export type HookWrapper = (name: string, call: HookCall) => HookCall;

/**
 * The hooks stage of a run (and the final hooks'): runs a stop plan through
 * the scheduler, calls each hook with the run's context, and tells the
 * record (events) and the run (its hook runs, what runs for the watchdog to
 * read at the deadline) what starts and ends. Constant work per hook event.
 */
export class HooksStage {
  private wrap: HookWrapper = (_name, call) => call;

  constructor(
    private readonly calls: () => HookCalls,
    private readonly record: LifecycleRecord,
  ) {}

  /** For the testing utilities: how each hook is called. */
  useWrapper(wrap: HookWrapper): void {
    this.wrap = wrap;
  }

  /** Runs `plan`; the run's deadline stops it, and so does `boundMs` when given (the final hooks). */
  async run(run: ShutdownRun, plan: StopPlan, boundMs?: number): Promise<void> {
    const calls = this.calls();
    const scheduler = new StopScheduler(
      plan,
      (hook, signal) => this.wrap(hook.name, calls.get(hook.key)!)({ signal, reason: run.trigger.reason, deadline: run.deadline }),
      undefined,
      {
        hookStarted: (hook, at) => this.started(run, hook, at),
        hookEnded: (hookRun) => this.ended(run, hookRun),
      },
    );
    const bound = boundMs === undefined ? undefined : setTimeout(() => scheduler.stop(new Error(MESSAGES.finalReserveReason(boundMs))), boundMs);
    if (boundMs === undefined) {
      run.scheduler = scheduler;
      if (run.expired.signal.aborted) scheduler.stop(run.expired.signal.reason);
    }
    await scheduler.run();
    clearTimeout(bound);
  }

  private started(run: ShutdownRun, hook: HookSpec, at: number): void {
    run.running.add(hook.key, hook.name);
    this.record.emit({ type: 'hook-start', hook: hook.name, order: hook.order, final: Boolean(hook.final), at });
  }

  private ended(run: ShutdownRun, hookRun: HookRun): void {
    run.hookRuns.push(hookRun);
    run.running.delete(hookRun.hook.key);
    const { hook, outcome, error } = hookRun;
    const at = Date.now();
    if (outcome === 'error') this.record.emit({ type: 'hook-error', hook: hook.name, error: messageOf(error), stack: stackOf(error), at });
    if (outcome === 'timeout') {
      this.record.emit({ type: 'hook-timeout', hook: hook.name, timeoutMs: hook.timeoutMs, cutByDeadline: !(error instanceof HookTimeoutError), at });
    }
    this.record.emit({
      type: 'hook-end',
      hook: hook.name,
      order: hook.order,
      final: Boolean(hook.final),
      outcome,
      durationMs: hookRun.start === undefined ? undefined : hookRun.end! - hookRun.start,
      error: error === undefined ? undefined : messageOf(error),
      at,
    });
  }
}
