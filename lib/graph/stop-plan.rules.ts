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
import { distinctEdges, edgesThroughHiddenNodes, stronglyConnectedComponents } from './graph.algorithms.js';
import type { HookSpec, IndexedProviderGraph, PlanWarning, ProviderGraph, ProviderNode, StopPlan, StopUnit } from './stop-plan.types.js';

export function buildStopPlan(graph: ProviderGraph): StopPlan {
  return assembleStopPlan(analyseStopPlan(graph));
}

/** What the rules found in a graph: its warnings, and each phase's members and order, cycles already broken. */
export interface StopPlanAnalysis {
  readonly warnings: PlanWarning[];
  readonly nodes: ProviderGraph['nodes'];
  readonly phases: Array<{ order: number; members: number[]; before: number[][] }>;
}

/**
 * The checking half of `buildStopPlan`: enough to report every warning (the
 * startup checks), without building the units, waves and worst case that
 * only the shutdown and the plan's log line need.
 */
export function analyseStopPlan(graph: ProviderGraph | IndexedProviderGraph): StopPlanAnalysis {
  const { nodes } = graph;
  const dependencies = 'dependencies' in graph ? graph.dependencies : indexedEdges(graph);
  const hasHooks = (i: number) => nodes[i].hooks.length > 0;
  const withHooks: number[] = [];
  for (let i = 0; i < nodes.length; i++) if (hasHooks(i)) withHooks.push(i);
  // Rule 2: dependencies through providers without hooks count too. The explorer's graph has none: nothing to walk then.
  const hookGraph = withHooks.length === nodes.length ? distinctEdges(dependencies) : edgesThroughHiddenNodes(dependencies, withHooks, hasHooks);
  const warnings: PlanWarning[] = [];
  const warn = (warning: PlanWarning) => {
    if (!warnings.some((w) => w.message === warning.message)) warnings.push(warning);
  };
  const orderSet = new Set<number>();
  for (const i of withHooks) for (const hook of nodes[i].hooks) orderSet.add(hook.order);
  const orders = [...orderSet].sort((x, y) => x - y);

  // Rule 6, except inside a cycle, where distinct orders are exactly how a user breaks it. With one order (most apps) no edge can disagree.
  if (orders.length > 1) {
    const component = stronglyConnectedComponents(hookGraph, withHooks);
    const highest = new Float64Array(nodes.length);
    const lowest = new Float64Array(nodes.length);
    for (const i of withHooks) {
      highest[i] = -Infinity;
      lowest[i] = Infinity;
      for (const hook of nodes[i].hooks) {
        if (hook.order > highest[i]) highest[i] = hook.order;
        if (hook.order < lowest[i]) lowest[i] = hook.order;
      }
    }
    for (const a of withHooks) {
      for (const b of hookGraph[a]) {
        if (component[a] === component[b] || highest[a] <= lowest[b]) continue;
        warn({
          kind: 'order-conflict',
          classes: [nodes[a].name, nodes[b].name],
          message: MESSAGES.orderConflict(nodes[a].name, nodes[b].name, highest[a], lowest[b]),
        });
      }
    }
  }

  // Rule 1.
  const phases = orders.map((order) => {
    // `before[a]` holds what must stop after `a`: the dependencies of `a` within this phase.
    // With one order (most apps) every provider with hooks is in the phase and every edge stays: no walk.
    const inPhase = (i: number) => nodes[i].hooks.some((h) => h.order === order);
    const members = orders.length === 1 ? withHooks : withHooks.filter(inPhase);
    // (`hookGraph` is this function's own list of lists; `breakCycles` replaces the inner lists it changes.)
    const before = orders.length === 1 ? hookGraph : edgesThroughHiddenNodes(hookGraph, members, inPhase);
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
    return { order, members, before };
  });
  return { warnings, nodes, phases };
}

/** `graph.edges` as lists of node indices. */
function indexedEdges(graph: ProviderGraph): number[][] {
  const indexById = new Map<string, number>();
  graph.nodes.forEach((node, i) => indexById.set(node.id, i));
  const dependencies: number[][] = graph.nodes.map(() => []);
  for (const { dependent, dependency } of graph.edges) {
    const from = indexById.get(dependent);
    const to = indexById.get(dependency);
    if (from !== undefined && to !== undefined && from !== to) dependencies[from].push(to);
  }
  return dependencies;
}

/** The building half of `buildStopPlan`: units, their waves, the worst case. */
export function assembleStopPlan({ warnings, nodes, phases }: StopPlanAnalysis): StopPlan {
  let worstCaseMs = 0;
  const assembled = phases.map(({ order, members, before }) => {
    const units = new Array<StopUnit>(nodes.length);
    for (const i of members) {
      units[i] = {
        id: `${nodes[i].id}#${order}`,
        provider: nodes[i].id,
        name: nodes[i].name,
        order,
        // Rule 4.
        hooks: hooksOf(nodes[i].hooks, order),
        after: [],
        wave: 0,
      };
    }
    for (const a of members) for (const b of before[a]) units[b].after.push(units[a].id);
    const { ordered, heaviestMs } = byWave(units, members, before);
    worstCaseMs += heaviestMs;
    return { order, units: ordered };
  });
  return { phases: assembled, warnings, worstCaseMs };
}

/**
 * A provider's hooks of one order, as plain specs: the explorer's are
 * records that name themselves only when asked, which the plan (public, and
 * read at the shutdown) now does.
 */
function hooksOf(hooks: readonly HookSpec[], order: number): HookSpec[] {
  const specs: HookSpec[] = [];
  for (const hook of hooks) {
    if (hook.order !== order) continue;
    const spec: HookSpec = { key: hook.key, name: hook.name, order: hook.order, timeoutMs: hook.timeoutMs };
    if (hook.final !== undefined) spec.final = hook.final;
    specs.push(spec);
  }
  return specs;
}

/** The same graph with only the hooks `keep` accepts; providers and edges stay. */
export function selectHooks<G extends ProviderGraph | IndexedProviderGraph>(graph: G, keep: (hook: HookSpec) => boolean): G {
  // Each node seen through one that has only its own hooks: what it computes when asked (its name) stays with it.
  const nodes = graph.nodes.map((node) => Object.create(node, { hooks: { value: node.hooks.filter(keep), enumerable: true } }) as ProviderNode);
  return { ...graph, nodes };
}

/**
 * Rule 5: turns each cycle into a chain whose members stop one at a time, the
 * one registered last first. Whatever had to stop before some member now
 * stops before the first of the chain, and whatever had to wait for some
 * member now waits for the last, so the order around the cycle is kept.
 */
function breakCycles(before: number[][], members: number[], onCycle: (cycle: number[], stopOrder: number[]) => void): void {
  const component = stronglyConnectedComponents(before, members);
  const size = new Int32Array(members.length);
  let cycles = false;
  for (const i of members) if (++size[component[i]] > 1) cycles = true;
  if (!cycles) return;
  const byComponent = new Map<number, number[]>();
  for (const i of members) if (size[component[i]] > 1) byComponent.set(component[i], [...(byComponent.get(component[i]) ?? []), i]);
  for (const cycle of byComponent.values()) {
    if (cycle.length < 2) continue;
    const chain = [...cycle].sort((x, y) => y - x);
    const first = chain[0];
    const last = chain[chain.length - 1];
    const inCycle = (i: number) => component[i] === component[first];
    const leaving = new Set(chain.flatMap((a) => before[a].filter((b) => !inCycle(b))));
    for (const x of members) {
      // A new list: the old one may be the caller's.
      if (!inCycle(x) && before[x].some(inCycle) && !before[x].includes(first)) before[x] = [...before[x], first];
    }
    chain.forEach((a, k) => (before[a] = k + 1 < chain.length ? [chain[k + 1]] : []));
    before[last].push(...leaving);
    onCycle(cycle, chain);
  }
}

/**
 * Sets each unit's wave (0 for units that wait for nothing, else one more
 * than the highest wave they wait for) and returns the units by wave, then
 * registration order, with the heaviest chain of timeouts through them. One
 * pass in topological order over `before`, which is a DAG once cycles are broken.
 */
function byWave(units: StopUnit[], members: number[], before: number[][]): { ordered: StopUnit[]; heaviestMs: number } {
  const waiting = new Int32Array(before.length);
  for (const a of members) for (const b of before[a]) waiting[b]++;
  const startMs = new Float64Array(before.length);
  const ready = members.filter((i) => waiting[i] === 0);
  let heaviestMs = 0;
  for (let k = 0; k < ready.length; k++) {
    const a = ready[k];
    const endMs = startMs[a] + totalTimeout(units[a]);
    if (endMs > heaviestMs) heaviestMs = endMs;
    for (const b of before[a]) {
      if (units[a].wave + 1 > units[b].wave) units[b].wave = units[a].wave + 1;
      if (endMs > startMs[b]) startMs[b] = endMs;
      if (--waiting[b] === 0) ready.push(b);
    }
  }
  // Array.prototype.sort is stable: members are in registration order.
  const ordered = members.map((i) => units[i]).sort((x, y) => x.wave - y.wave);
  return { ordered, heaviestMs };
}

function totalTimeout(unit: StopUnit): number {
  return unit.hooks.reduce((sum, hook) => sum + hook.timeoutMs, 0);
}
