/**
 * The ordering rules that turn a provider graph into a stop plan. Pure: it
 * knows nothing of Nest, and reports what it finds questionable as warnings
 * for the caller to show or (with `strict`) refuse.
 *
 * 1. Phases by ascending `order`.
 * 2. Within a phase, a provider's hooks wait for every provider that depends
 *    on it, directly or through providers with or without hooks (of any order).
 * 3. Everything else runs concurrently.
 * 4. A provider's own hooks of one order run one after another.
 * 5. A cycle inside a phase is broken: the provider registered later stops first.
 * 6. An edge whose orders disagree is reported; the explicit order wins.
 */
import { MESSAGES } from '../graceful.messages.js';
import { edgesThroughHiddenNodes, heaviestPath, longestPathLayers, stronglyConnectedComponents } from './graph.algorithms.js';
import type { HookSpec, PlanWarning, ProviderGraph, StopPlan, StopUnit } from './stop-plan.types.js';

export function buildStopPlan(graph: ProviderGraph): StopPlan {
  const { nodes } = graph;
  const indexById = new Map<string, number>();
  nodes.forEach((node, i) => indexById.set(node.id, i));
  const dependencies: number[][] = nodes.map(() => []);
  for (const { dependent, dependency } of graph.edges) {
    const from = indexById.get(dependent);
    const to = indexById.get(dependency);
    if (from !== undefined && to !== undefined && from !== to) dependencies[from].push(to);
  }

  const hasHooks = (i: number) => nodes[i].hooks.length > 0;
  const withHooks = nodes.map((_, i) => i).filter(hasHooks);
  // Rule 2: dependencies through providers without hooks count too.
  const hookGraph = edgesThroughHiddenNodes(dependencies, withHooks, hasHooks);
  const warnings: PlanWarning[] = [];
  const warn = (warning: PlanWarning) => {
    if (!warnings.some((w) => w.message === warning.message)) warnings.push(warning);
  };

  // Rule 6, except inside a cycle, where distinct orders are exactly how a user breaks it.
  const component = stronglyConnectedComponents(hookGraph, withHooks);
  for (const a of withHooks) {
    for (const b of hookGraph[a]) {
      if (component[a] === component[b]) continue;
      const dependentOrder = Math.max(...nodes[a].hooks.map((h) => h.order));
      const dependencyOrder = Math.min(...nodes[b].hooks.map((h) => h.order));
      if (dependentOrder > dependencyOrder) {
        warn({
          kind: 'order-conflict',
          classes: [nodes[a].name, nodes[b].name],
          message: MESSAGES.orderConflict(nodes[a].name, nodes[b].name, dependentOrder, dependencyOrder),
        });
      }
    }
  }

  // Rule 1.
  const orders = [...new Set(withHooks.flatMap((i) => nodes[i].hooks.map((h) => h.order)))].sort((x, y) => x - y);
  const phases = orders.map((order) => {
    const inPhase = (i: number) => nodes[i].hooks.some((h) => h.order === order);
    const members = withHooks.filter(inPhase);
    // `before[a]` holds what must stop after `a`: the dependencies of `a` within this phase.
    const before = edgesThroughHiddenNodes(hookGraph, members, inPhase);
    breakCycles(before, members, (cycle, stopOrder) =>
      warn({
        kind: 'cycle',
        classes: cycle.map((i) => nodes[i].name),
        message: MESSAGES.cycle(
          cycle.map((i) => nodes[i].name),
          stopOrder.map((i) => nodes[i].name),
        ),
      }),
    );
    const unitId = (i: number) => `${nodes[i].id}#${order}`;
    const units = new Map<number, StopUnit>();
    for (const i of members) {
      units.set(i, {
        id: unitId(i),
        provider: nodes[i].id,
        name: nodes[i].name,
        order,
        // Rule 4.
        hooks: nodes[i].hooks.filter((h) => h.order === order),
        after: [],
        wave: 0,
      });
    }
    for (const a of members) for (const b of before[a]) units.get(b)!.after.push(unitId(a));
    return { order, units: byWave([...units.values()]) };
  });

  const worstCaseMs = phases.reduce((sum, phase) => sum + heaviestPath(phase.units, totalTimeout), 0);
  return { phases, warnings, worstCaseMs };
}

/** The same graph with only the hooks `keep` accepts; providers and edges stay. */
export function selectHooks(graph: ProviderGraph, keep: (hook: HookSpec) => boolean): ProviderGraph {
  return { nodes: graph.nodes.map((node) => ({ ...node, hooks: node.hooks.filter(keep) })), edges: graph.edges };
}

/**
 * Rule 5: turns each cycle into a chain whose members stop one at a time, the
 * one registered last first. Whatever had to stop before some member now
 * stops before the first of the chain, and whatever had to wait for some
 * member now waits for the last, so the order around the cycle is kept.
 */
function breakCycles(before: number[][], members: number[], onCycle: (cycle: number[], stopOrder: number[]) => void): void {
  const component = stronglyConnectedComponents(before, members);
  const byComponent = new Map<number, number[]>();
  for (const i of members) byComponent.set(component[i], [...(byComponent.get(component[i]) ?? []), i]);
  for (const cycle of byComponent.values()) {
    if (cycle.length < 2) continue;
    const chain = [...cycle].sort((x, y) => y - x);
    const first = chain[0];
    const last = chain[chain.length - 1];
    const inCycle = (i: number) => component[i] === component[first];
    const leaving = new Set(chain.flatMap((a) => before[a].filter((b) => !inCycle(b))));
    for (const x of members) {
      if (!inCycle(x) && before[x].some(inCycle) && !before[x].includes(first)) before[x].push(first);
    }
    chain.forEach((a, k) => (before[a] = k + 1 < chain.length ? [chain[k + 1]] : []));
    before[last].push(...leaving);
    onCycle(cycle, chain);
  }
}

/** Units with their wave set, sorted by wave, then registration order. */
function byWave(units: StopUnit[]): StopUnit[] {
  const layers = longestPathLayers(units);
  for (const unit of units) unit.wave = layers.get(unit.id)!;
  return units
    .map((unit, position) => ({ unit, position }))
    .sort((x, y) => x.unit.wave - y.unit.wave || x.position - y.position)
    .map(({ unit }) => unit);
}

function totalTimeout(unit: StopUnit): number {
  return unit.hooks.reduce((sum, hook) => sum + hook.timeoutMs, 0);
}
