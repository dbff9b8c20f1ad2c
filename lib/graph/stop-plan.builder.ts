/**
 * The stop plan, computed from plain data: which providers exist, which
 * depends on which, and which hooks each one has. Nothing here knows Nest.
 *
 * Rules (see README, "The order"):
 * 1. Phases by ascending `order`.
 * 2. Within a phase, a provider's hooks wait for every provider that depends
 *    on it, directly or through providers with or without hooks (of any order).
 * 3. Everything else runs concurrently.
 * 4. A provider's own hooks of one order run one after another.
 * 5. A cycle inside a phase is broken: the provider registered later stops first.
 * 6. An edge whose orders disagree is reported; the explicit order wins.
 */
import { MESSAGES } from '../graceful.messages.js';
import { ShutdownPlanError } from '../errors/shutdown-plan.error.js';

/** One `@OnShutdown()` method. */
export interface HookSpec {
  /** Unique within the graph. */
  key: string;
  /** `Class.method`, for logs and reports. */
  name: string;
  order: number;
  timeoutMs: number;
  /** Runs in the final phase, planned apart from the others. */
  final?: boolean;
}

/** A provider, with or without hooks. Hooks in declaration order. */
export interface ProviderNode {
  id: string;
  /** The class name, for messages. */
  name: string;
  hooks: HookSpec[];
}

/** `dependent` was given `dependency` by the injector. */
export interface DependencyEdge {
  dependent: string;
  dependency: string;
}

/** Providers in registration order, and their dependencies. */
export interface ProviderGraph {
  nodes: ProviderNode[];
  edges: DependencyEdge[];
}

/** The hooks of one provider in one phase; they run one after another. */
export interface StopUnit {
  id: string;
  provider: string;
  name: string;
  order: number;
  hooks: HookSpec[];
  /** Units of the same phase that must have ended before this one starts. */
  after: string[];
  /** 0 for units that wait for nothing, else one more than the latest unit waited for. */
  wave: number;
}

export interface StopPhase {
  order: number;
  /** Units by wave, then registration order. */
  units: StopUnit[];
}

export interface PlanWarning {
  kind: 'cycle' | 'order-conflict';
  classes: string[];
  message: string;
}

export interface StopPlan {
  phases: StopPhase[];
  warnings: PlanWarning[];
  /** The longest chain of hook timeouts, summed over the phases: the worst case if every hook times out. */
  worstCaseMs: number;
}

export interface StopPlanOptions {
  /** Throw a `ShutdownPlanError` instead of warning. */
  strict?: boolean;
}

export function buildStopPlan(graph: ProviderGraph, options: StopPlanOptions = {}): StopPlan {
  const { nodes } = graph;
  const indexById = new Map<string, number>();
  nodes.forEach((node, i) => indexById.set(node.id, i));
  const dependencies: number[][] = nodes.map(() => []);
  for (const { dependent, dependency } of graph.edges) {
    const from = indexById.get(dependent);
    const to = indexById.get(dependency);
    if (from !== undefined && to !== undefined && from !== to) dependencies[from].push(to);
  }

  const withHooks = indices(nodes).filter((i) => nodes[i].hooks.length > 0);
  const hookGraph = project(dependencies, withHooks, (i) => nodes[i].hooks.length > 0);
  const warnings: PlanWarning[] = [];
  const report = (warning: PlanWarning) => {
    if (options.strict) throw new ShutdownPlanError(MESSAGES.strictPrefix + warning.message);
    if (!warnings.some((w) => w.message === warning.message)) warnings.push(warning);
  };

  // Rule 6: edges whose explicit orders disagree, except inside a cycle, where
  // distinct orders are exactly how a user breaks it.
  const component = componentOf(hookGraph, withHooks);
  for (const a of withHooks) {
    for (const b of hookGraph[a]) {
      if (component[a] === component[b]) continue;
      const dependentOrder = Math.max(...nodes[a].hooks.map((h) => h.order));
      const dependencyOrder = Math.min(...nodes[b].hooks.map((h) => h.order));
      if (dependentOrder > dependencyOrder) {
        report({
          kind: 'order-conflict',
          classes: [nodes[a].name, nodes[b].name],
          message: MESSAGES.orderConflict(nodes[a].name, nodes[b].name, dependentOrder, dependencyOrder),
        });
      }
    }
  }

  const orders = [...new Set(withHooks.flatMap((i) => nodes[i].hooks.map((h) => h.order)))].sort((x, y) => x - y);
  const phases = orders.map((order) => {
    const inPhase = (i: number) => nodes[i].hooks.some((h) => h.order === order);
    const members = withHooks.filter(inPhase);
    const before = project(hookGraph, members, inPhase);
    breakCycles(before, members, (cycle, stopOrder) =>
      report({
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
        hooks: nodes[i].hooks.filter((h) => h.order === order),
        after: [],
        wave: 0,
      });
    }
    for (const a of members) for (const b of before[a]) units.get(b)!.after.push(unitId(a));
    return { order, units: assignWaves([...units.values()]) };
  });

  const worstCaseMs = phases.reduce((sum, phase) => sum + longestChain(phase.units), 0);
  return { phases, warnings, worstCaseMs };
}

/** The same graph with only the hooks `keep` accepts; providers and edges stay. */
export function selectHooks(graph: ProviderGraph, keep: (hook: HookSpec) => boolean): ProviderGraph {
  return { nodes: graph.nodes.map((node) => ({ ...node, hooks: node.hooks.filter(keep) })), edges: graph.edges };
}

function indices<T>(items: T[]): number[] {
  return items.map((_, i) => i);
}

/**
 * For every source, the kept nodes it reaches through nodes that are not
 * kept: the graph seen through a filter, with the paths through the hidden
 * nodes turned into edges.
 */
function project(adjacency: number[][], sources: number[], keep: (i: number) => boolean): number[][] {
  const result: number[][] = adjacency.map(() => []);
  const seenFrom = new Int32Array(adjacency.length).fill(-1);
  for (const source of sources) {
    seenFrom[source] = source;
    const stack = [...adjacency[source]];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (seenFrom[v] === source) continue;
      seenFrom[v] = source;
      if (keep(v)) result[source].push(v);
      else for (const w of adjacency[v]) stack.push(w);
    }
  }
  return result;
}

/** Tarjan's strongly connected components over `members`; returns a component id per node. */
function componentOf(adjacency: number[][], members: number[]): Int32Array {
  const n = adjacency.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const component = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  let counter = 0;
  let components = 0;
  // Iterative, so that a long dependency chain cannot overflow the call stack.
  for (const root of members) {
    if (index[root] !== -1) continue;
    const work: Array<[number, number]> = [[root, 0]];
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [v, next] = frame;
      if (next === 0) {
        index[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = 1;
      }
      if (next < adjacency[v].length) {
        frame[1] = next + 1;
        const w = adjacency[v][next];
        if (index[w] === -1) work.push([w, 0]);
        else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          component[w] = components;
        } while (w !== v);
        components++;
      }
    }
  }
  return component;
}

/**
 * Turns each cycle into a chain: its members stop one at a time, the one
 * registered last first. Whatever had to stop before some member now stops
 * before the first of the chain, and whatever had to wait for some member now
 * waits for the last, so the order around the cycle is kept.
 */
function breakCycles(
  before: number[][],
  members: number[],
  onCycle: (cycle: number[], stopOrder: number[]) => void,
): void {
  const component = componentOf(before, members);
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

function assignWaves(units: StopUnit[]): StopUnit[] {
  const byId = new Map(units.map((u) => [u.id, u]));
  const done = new Set<string>();
  const visit = (unit: StopUnit): number => {
    if (done.has(unit.id)) return unit.wave;
    // `after` is acyclic once cycles are broken; iterate to stay off the call stack.
    const pending: StopUnit[] = [unit];
    while (pending.length > 0) {
      const top = pending[pending.length - 1];
      const open = top.after.map((id) => byId.get(id)!).filter((u) => !done.has(u.id));
      if (open.length > 0) {
        pending.push(...open);
        continue;
      }
      pending.pop();
      if (done.has(top.id)) continue;
      top.wave = top.after.length === 0 ? 0 : 1 + Math.max(...top.after.map((id) => byId.get(id)!.wave));
      done.add(top.id);
    }
    return unit.wave;
  };
  units.forEach(visit);
  return units
    .map((unit, position) => ({ unit, position }))
    .sort((x, y) => x.unit.wave - y.unit.wave || x.position - y.position)
    .map(({ unit }) => unit);
}

/** The longest chain of summed hook timeouts; `units` sorted by wave. */
function longestChain(units: StopUnit[]): number {
  const finish = new Map<string, number>();
  let longest = 0;
  for (const unit of units) {
    const start = Math.max(0, ...unit.after.map((id) => finish.get(id)!));
    const end = start + unit.hooks.reduce((sum, h) => sum + h.timeoutMs, 0);
    finish.set(unit.id, end);
    longest = Math.max(longest, end);
  }
  return longest;
}
