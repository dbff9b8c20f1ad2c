import type { StopPlan } from '../graph/stop-plan.types.js';

export interface PlanBudget {
  shutdownTimeoutMs: number;
  readinessDelayMs: number;
  drainTimeoutMs: number;
  /** Kept back for the final hooks, when there are any. */
  finalTimeoutMs?: number;
}

/**
 * The stop plan as a person reads it: each order phase, in it the waves of
 * hooks that run together, each hook's timeout and what it waits for; then
 * the budget.
 */
export function formatPlan(plan: StopPlan, finalPlan: StopPlan, budget: PlanBudget): string {
  const all = [
    ...plan.phases.map((phase) => ({ title: `order ${phase.order}`, phase })),
    ...finalPlan.phases.map((phase) => ({ title: `final, order ${phase.order}`, phase })),
  ];
  const hooks = all.reduce((n, { phase }) => n + phase.units.reduce((m, unit) => m + unit.hooks.length, 0), 0);
  const width = Math.max(0, ...all.flatMap(({ phase }) => phase.units.flatMap((unit) => unit.hooks.map((hook) => hook.name.length))));
  const digits = Math.max(1, ...all.flatMap(({ phase }) => phase.units.flatMap((unit) => unit.hooks.map((hook) => String(hook.timeoutMs).length))));
  const lines = [`Stop plan: ${hooks} hook(s) in ${all.length} phase(s)`];
  for (const { title, phase } of all) {
    lines.push(`  ${title}`);
    const names = new Map(phase.units.map((unit) => [unit.id, unit.name]));
    const waves = Math.max(-1, ...phase.units.map((unit) => unit.wave)) + 1;
    for (let wave = 0; wave < waves; wave++) {
      phase.units
        .filter((unit) => unit.wave === wave)
        .flatMap((unit) => unit.hooks.map((hook, i) => ({ hook, after: i === 0 ? unit.after.map((id) => names.get(id)!) : [unit.hooks[i - 1].name] })))
        .forEach(({ hook, after }, i) => {
          const label = i === 0 ? `wave ${wave + 1}`.padEnd(8) : ' '.repeat(8);
          const waits = after.length > 0 ? `  after ${after.join(', ')}` : '';
          lines.push(`    ${label}${hook.name.padEnd(width)}  timeout ${String(hook.timeoutMs).padStart(digits)} ms${waits}`);
        });
    }
  }
  const { shutdownTimeoutMs, readinessDelayMs, drainTimeoutMs, finalTimeoutMs } = budget;
  const left = shutdownTimeoutMs - readinessDelayMs - drainTimeoutMs;
  const worst = plan.worstCaseMs + finalPlan.worstCaseMs;
  lines.push(
    `  budget: shutdownTimeoutMs ${shutdownTimeoutMs} = readinessDelayMs ${readinessDelayMs} + drainTimeoutMs ${drainTimeoutMs} + ${left} ms for the hooks and Nest's hooks` +
      (finalTimeoutMs ? ` (${finalTimeoutMs} ms of it kept for the final hooks)` : '') +
      `; if every hook timed out, the longest chain would take ${worst} ms, and the deadline would cut it.`,
  );
  return lines.join('\n');
}
