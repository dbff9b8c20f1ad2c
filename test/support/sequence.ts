/**
 * The shutdown sequence on its own, for the unit and property tests: a real
 * `ShutdownSequence` with a plan, a record and a process of the test's, and
 * no Nest application (no HTTP server, no intake, no diagnostics). Also the
 * lifecycle's allowed moves, written out here independently of
 * lib/lifecycle/lifecycle.machine.ts.
 */
import type { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { EMPTY } from 'rxjs';
import type { HookCall } from '../../lib/discovery/shutdown-hook.explorer.js';
import { WorkTracker } from '../../lib/drain/work.tracker.js';
import { EMPTY_PLAN, type StopPlan } from '../../lib/graph/stop-plan.types.js';
import type { IntakeRegistry } from '../../lib/intake/intake.registry.js';
import type { LifecycleRecord } from '../../lib/lifecycle/lifecycle.record.js';
import type { ReadinessHolder } from '../../lib/lifecycle/readiness.holder.js';
import type { ResolvedGracefulOptions } from '../../lib/options/graceful-options.resolver.js';
import type { ProcessSignals } from '../../lib/process/process-signals.js';
import type { ShutdownPlanner } from '../../lib/shutdown/shutdown.planner.js';
import { ShutdownSequence } from '../../lib/shutdown/shutdown.sequence.js';
import type { StartupDiagnostics } from '../../lib/shutdown/startup.diagnostics.js';

/** The moves the lifecycle allows, as `from>to`. */
export const LIFECYCLE_EDGES = new Set([
  'starting>ready',
  'starting>unready',
  'ready>unready',
  'unready>ready',
  ...['starting', 'ready', 'unready'].map((from) => `${from}>draining`),
  'draining>stopping',
  'stopping>stopped',
  'draining>stopped',
  'starting>failed',
  'failed>stopped',
]);

/** A sequence that runs `plan` (calling each hook through `calls`), records into `record`, and ends through `process`. */
export function sequenceFor(
  options: ResolvedGracefulOptions,
  plan: StopPlan,
  calls: Map<string, HookCall>,
  record: LifecycleRecord,
  process: object,
): ShutdownSequence {
  // Planned already, as after init(): a rollback has nothing more to plan.
  const planner = { plan, finalPlan: EMPTY_PLAN, calls, finalReserveMs: 0, planConstructed: () => undefined } as unknown as ShutdownPlanner;
  return new ShutdownSequence(
    options,
    planner,
    record,
    new WorkTracker(),
    { httpAdapter: undefined, listen$: EMPTY } as unknown as HttpAdapterHost,
    new Map() as unknown as ModulesContainer,
    process as ProcessSignals,
    { prepare: () => undefined, sources: () => [], release: () => undefined } as unknown as IntakeRegistry,
    { watch: () => undefined, check: () => undefined, release: () => undefined } as unknown as StartupDiagnostics,
    { serve: () => record.serve(), warmUpsNotStarted: () => [] } as unknown as ReadinessHolder,
  );
}
