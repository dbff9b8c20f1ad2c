/**
 * `analyseStopPlan` skips work the plan's shape makes a no-op (issue 18):
 * no rule-2 walk when every provider has hooks, no order check and no phase
 * walk with a single order, edges as index lists from the explorer. Each
 * shortcut must give the plan the general path gives: these properties
 * force the general path on the same graph and compare.
 */
import fc from 'fast-check';
import { analyseStopPlan, assembleStopPlan, buildStopPlan } from '../../lib/graph/stop-plan.rules.js';
import type { IndexedProviderGraph, ProviderGraph, StopPlan } from '../../lib/graph/stop-plan.types.js';

/** Random graphs: every provider with hooks (the explorer's shape) or not, one order or several, repeated edges, self-loops, cycles. */
const graphs = (orders: number[], withoutHooks: boolean) =>
  fc.integer({ min: 1, max: 16 }).chain((n) =>
    fc
      .record({
        hooks: fc.array(
          fc.array(fc.record({ order: fc.constantFrom(...orders), timeoutMs: fc.integer({ min: 1, max: 100 }) }), {
            minLength: withoutHooks ? 0 : 1,
            maxLength: 2,
          }),
          { minLength: n, maxLength: n },
        ),
        edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: n * 3 }),
      })
      .map(({ hooks, edges }): ProviderGraph => ({
        nodes: hooks.map((list, i) => ({
          id: `p${i}`,
          name: `P${i}`,
          hooks: list.map((hook, k) => ({ key: `p${i}.${k}`, name: `P${i}.m${k}`, order: hook.order, timeoutMs: hook.timeoutMs, final: false })),
        })),
        edges: edges.map(([a, b]) => ({ dependent: `p${a}`, dependency: `p${b}` })),
      })),
  );

/** The same graph with one more provider, on its own, at the end (the others keep their indices). */
function withLoner(graph: ProviderGraph, hooks: Array<{ order: number }>): ProviderGraph {
  const id = 'loner';
  return {
    nodes: [
      ...graph.nodes,
      { id, name: 'Loner', hooks: hooks.map((h, k) => ({ key: `loner.${k}`, name: `Loner.m${k}`, order: h.order, timeoutMs: 1, final: false })) },
    ],
    edges: graph.edges,
  };
}

/** The plan without the loner's units (and its phase when it had one alone). */
function withoutLoner(plan: StopPlan): StopPlan {
  const phases = plan.phases
    .map((phase) => ({ ...phase, units: phase.units.filter((unit) => unit.provider !== 'loner') }))
    .filter((phase) => phase.units.length > 0);
  return { ...plan, phases };
}

function indexed(graph: ProviderGraph): IndexedProviderGraph {
  const index = new Map(graph.nodes.map((node, i) => [node.id, i]));
  const dependencies: number[][] = graph.nodes.map(() => []);
  for (const edge of graph.edges) dependencies[index.get(edge.dependent)!].push(index.get(edge.dependency)!);
  return { nodes: graph.nodes, dependencies };
}

describe('stop plan shortcuts', () => {
  it('every provider with hooks: the same plan as with a provider without hooks beside it (which makes the rule-2 walk run)', () => {
    fc.assert(
      fc.property(graphs([0, 0, 1, 5], false), (graph) => {
        expect(buildStopPlan(graph)).toEqual(withoutLoner(buildStopPlan(withLoner(graph, []))));
      }),
      { numRuns: 500 },
    );
  });

  it('one order: the same plan and warnings as with a second order beside it (which makes the order check and the phase walks run)', () => {
    fc.assert(
      fc.property(graphs([0], true), (graph) => {
        const general = buildStopPlan(withLoner(graph, [{ order: 7 }]));
        const plan = buildStopPlan(graph);
        expect(plan.warnings).toEqual(general.warnings);
        expect(plan.phases).toEqual(withoutLoner(general).phases);
      }),
      { numRuns: 500 },
    );
  });

  it("edges as index lists (the explorer's form): the same plan as edge objects", () => {
    fc.assert(
      fc.property(graphs([0, 0, 1, 5], true), (graph) => {
        expect(assembleStopPlan(analyseStopPlan(indexed(graph)))).toEqual(buildStopPlan(graph));
      }),
      { numRuns: 500 },
    );
  });

  it("leaves the caller's index lists as they were, cycles and all", () => {
    fc.assert(
      fc.property(graphs([0], false), (graph) => {
        const form = indexed(graph);
        const before = JSON.stringify(form.dependencies);
        analyseStopPlan(form);
        expect(JSON.stringify(form.dependencies)).toBe(before);
      }),
      { numRuns: 1000 },
    );
  });
});
