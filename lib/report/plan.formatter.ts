import type { StopPlan } from '../graph/stop-plan.types.js';

export interface PlanBudget {
  shutdownTimeoutMs: number;
  readinessDelayMs: number;
  drainTimeoutMs: number;
  /** Kept back for the final hooks, when there are any. */
  finalTimeoutMs?: number;
  platform?: { label: string; detectedBy: string };
  gracePeriodMs?: number;
  preStopMs?: number;
  readinessMinDelayMs?: number;
  readinessQuietMs?: number;
  readinessDelayIfProbed?: boolean;
}

/** The platform and its budget in one line, as the startup log shows it. */
export function formatPlatform(budget: PlanBudget): string {
  const { platform, gracePeriodMs, preStopMs = 0, shutdownTimeoutMs, drainTimeoutMs, readinessDelayMs } = budget;
  const s = (ms: number) => `${+(ms / 1000).toFixed(2)} s`;
  const where =
    platform && platform.label !== 'none' ? `${platform.label} (${platform.detectedBy})` : `none detected (${platform?.detectedBy ?? 'not looked for'})`;
  const grace = gracePeriodMs === undefined ? 'grace period unknown' : `grace ${s(gracePeriodMs)}`;
  const delay =
    readinessDelayMs === 0
      ? 'no readiness delay'
      : `readiness delay up to ${s(readinessDelayMs)}${budget.readinessDelayIfProbed ? ' if readiness is probed' : ''}, ending once probes saw it down and traffic was quiet ${s(budget.readinessQuietMs ?? 0)}` +
        (budget.readinessMinDelayMs ? `, not before ${s(budget.readinessMinDelayMs)}` : '');
  return `platform: ${where}, ${grace}${preStopMs > 0 ? `, preStop ${s(preStopMs)}` : ''}; deadline ${s(shutdownTimeoutMs)}, drain ${s(drainTimeoutMs)}, ${delay}`;
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
  const lines = [`Stop plan: ${hooks} hook(s) in ${all.length} phase(s)`, `  ${formatPlatform(budget)}`];
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
