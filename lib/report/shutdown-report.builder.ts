/**
 * The outcome of a shutdown, decided once from what happened. Pure: plain
 * data in, the report and its exit code out.
 */
import { GracefulExitCode } from '../graceful.constants.js';
import type { StopPlan } from '../graph/stop-plan.types.js';
import type {
  ChildProcessReport,
  DrainReport,
  OpenHandleReport,
  ExitCall,
  HookReport,
  IntakeReport,
  ShutdownReport,
  StageReport,
  ReadinessDelayReport,
  WorkerThreadReport,
} from '../interfaces/shutdown-report.interface.js';
import type { HookRun } from '../scheduler/stop.scheduler.js';

/** Everything the outcome depends on. */
export interface ShutdownFacts {
  reason: string;
  startedAt: number;
  endedAt: number;
  /** The plans the hooks ran by (main, then final); a hook without a run was skipped. */
  plans: StopPlan[];
  runs: HookRun[];
  stages: StageReport[];
  /** The readiness delay, when one ran. */
  readinessDelay?: ReadinessDelayReport;
  drain?: DrainReport;
  /** The sources stopped at the drain. */
  intake: IntakeReport[];
  deadlineExceeded: boolean;
  fatalError?: unknown;
  /** Nest's own hooks threw, or the module failed internally. */
  sequenceFailed: boolean;
  /** `process.exit()` calls made during the shutdown, which it outlived. */
  exitCalls: ExitCall[];
  children?: ChildProcessReport[];
  workers?: WorkerThreadReport[];
  openHandles?: OpenHandleReport[];
  /** The error that failed the startup, when the run rolled back a failed startup. */
  startupError?: unknown;
  /** Where the startup failed, and the steps it never reached, with `startupError`. */
  startup?: { failedAt: string; neverStarted: string[] };
}

/**
 * 124 when the deadline passed; otherwise 1 when anything failed (a hook, a
 * source of work not stopped in time, Nest's hooks, a fatal error), else 0. A higher code passed to
 * `process.exit()` during the shutdown wins.
 */
export function exitCodeOf(
  facts: Pick<ShutdownFacts, 'deadlineExceeded' | 'fatalError' | 'sequenceFailed' | 'exitCalls' | 'drain' | 'startupError'> & {
    hooks: Pick<HookReport, 'outcome'>[];
    intake?: Pick<IntakeReport, 'outcome'>[];
  },
): number {
  const failed =
    facts.hooks.some((hook) => hook.outcome === 'error' || hook.outcome === 'timeout') ||
    (facts.drain !== undefined && (facts.drain.requestsCut > 0 || facts.drain.trackedWorkCut > 0)) ||
    (facts.intake ?? []).some((source) => source.outcome !== 'ok') ||
    facts.sequenceFailed ||
    facts.fatalError !== undefined ||
    facts.startupError !== undefined;
  const decided = facts.deadlineExceeded ? GracefulExitCode.DeadlineExceeded : failed ? GracefulExitCode.Failed : GracefulExitCode.Clean;
  return Math.max(decided, ...facts.exitCalls.map((call) => call.code));
}

export function buildShutdownReport(facts: ShutdownFacts): ShutdownReport {
  const byKey = new Map(facts.runs.map((run) => [run.hook.key, run]));
  const hooks: HookReport[] = facts.plans.flatMap((plan) =>
    plan.phases.flatMap((phase) =>
      phase.units.flatMap((unit) =>
        unit.hooks.map((hook) => {
          const run = byKey.get(hook.key);
          return {
            name: hook.name,
            order: hook.order,
            ...(hook.final ? { final: true } : {}),
            start: run?.start,
            end: run?.end,
            durationMs: run?.start === undefined ? undefined : run.end! - run.start,
            outcome: run?.outcome ?? 'skipped',
            error: run?.error === undefined ? undefined : messageOf(run.error),
          };
        }),
      ),
    ),
  );
  return {
    reason: facts.reason,
    startedAt: facts.startedAt,
    endedAt: facts.endedAt,
    durationMs: facts.endedAt - facts.startedAt,
    readinessDelayMs: facts.readinessDelay?.waitedMs ?? 0,
    ...(facts.readinessDelay ? { readinessDelay: facts.readinessDelay } : {}),
    drain: facts.drain,
    intake: [...facts.intake],
    stages: [...facts.stages],
    hooks,
    deadlineExceeded: facts.deadlineExceeded,
    ...(facts.fatalError !== undefined ? { fatalError: messageOf(facts.fatalError) } : {}),
    ...(facts.startupError !== undefined ? { startupError: messageOf(facts.startupError) } : {}),
    ...(facts.startupError !== undefined && facts.startup
      ? {
          startup: {
            failedAt: facts.startup.failedAt,
            error: messageOf(facts.startupError),
            rolledBack: hooks.filter((hook) => hook.outcome !== 'skipped').map((hook) => hook.name),
            neverStarted: [...facts.startup.neverStarted],
          },
        }
      : {}),
    ...(facts.exitCalls.length > 0 ? { exitCalls: [...facts.exitCalls] } : {}),
    ...(facts.children && facts.children.length > 0 ? { children: [...facts.children] } : {}),
    ...(facts.workers && facts.workers.length > 0 ? { workers: [...facts.workers] } : {}),
    openHandles: [...(facts.openHandles ?? [])],
    exitCode: exitCodeOf({ ...facts, hooks }),
  };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function stackOf(error: unknown): string | undefined {
  return error instanceof Error ? error.stack : undefined;
}
