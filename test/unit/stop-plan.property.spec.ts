import fc from 'fast-check';
import { buildStopPlan } from '../../lib/graph/stop-plan.rules.js';
import type { ProviderGraph } from '../../lib/graph/stop-plan.types.js';
import { StopScheduler, type HookRun } from '../../lib/scheduler/stop.scheduler.js';
import { VirtualClock } from '../support/virtual-clock.js';

interface HookBehaviour {
  order: number;
  timeoutMs: number;
  /** Virtual ms the hook takes; null: it never settles. */
  durationMs: number | null;
  fails: boolean;
}

interface Scenario {
  hooks: HookBehaviour[][];
  edges: Array<[number, number]>;
}

/** Random provider graphs: some providers without hooks, a few orders, failures, hangs, and (optionally) cycles. */
const scenario = (allowCycles: boolean) =>
  fc.integer({ min: 1, max: 14 }).chain((n) =>
    fc.record({
      hooks: fc.array(
        fc.array(
          fc.record({
            order: fc.constantFrom(0, 0, 0, 1, 5),
            timeoutMs: fc.integer({ min: 1, max: 100 }),
            durationMs: fc.option(fc.integer({ min: 0, max: 150 }), { freq: 8 }),
            fails: fc.boolean(),
          }),
          { maxLength: 3 },
        ),
        { minLength: n, maxLength: n },
      ),
      edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: n * 2 }).map((pairs) => (allowCycles ? pairs : pairs.filter(([a, b]) => a > b))),
    }),
  );

function toGraph(s: Scenario): ProviderGraph {
  return {
    nodes: s.hooks.map((hooks, i) => ({
      id: `p${i}`,
      name: `P${i}`,
      hooks: hooks.map((h, k) => ({ key: `p${i}.${k}`, name: `P${i}.m${k}`, order: h.order, timeoutMs: h.timeoutMs })),
    })),
    edges: s.edges.map(([a, b]) => ({ dependent: `p${a}`, dependency: `p${b}` })),
  };
}

function reachability(n: number, edges: Array<[number, number]>): boolean[][] {
  const reach = Array.from({ length: n }, () => new Array<boolean>(n).fill(false));
  for (let source = 0; source < n; source++) {
    const stack = edges.filter(([a]) => a === source).map(([, b]) => b);
    while (stack.length) {
      const v = stack.pop()!;
      if (reach[source][v]) continue;
      reach[source][v] = true;
      stack.push(...edges.filter(([a]) => a === v).map(([, b]) => b));
    }
  }
  return reach;
}

async function execute(s: Scenario) {
  const clock = new VirtualClock();
  const behaviour = new Map(s.hooks.flatMap((hooks, i) => hooks.map((h, k): [string, HookBehaviour] => [`p${i}.${k}`, h])));
  const events: Array<{ key: string; kind: 'start' | 'end' }> = [];
  const plan = buildStopPlan(toGraph(s));
  const scheduler = new StopScheduler(
    plan,
    async (hook) => {
      const b = behaviour.get(hook.key)!;
      if (b.durationMs === null) return new Promise(() => undefined);
      await clock.sleep(b.durationMs);
      if (b.fails) throw new Error(`${hook.name} failed`);
    },
    clock,
    {
      hookStarted: (hook) => events.push({ key: hook.key, kind: 'start' }),
      hookEnded: (run) => events.push({ key: run.hook.key, kind: 'end' }),
    },
  );
  const runs = await clock.drive(scheduler.run());
  const seq = (key: string, kind: 'start' | 'end') => events.findIndex((e) => e.key === key && e.kind === kind);
  return { plan, runs, behaviour, seq, total: clock.now() };
}

/** The lower bound, computed independently: per phase, the longest chain of effective hook durations. */
function criticalPath(s: Scenario, reach: boolean[][]): number {
  const orders = [...new Set(s.hooks.flat().map((h) => h.order))].sort((a, b) => a - b);
  const effective = (h: HookBehaviour) => (h.durationMs === null || h.durationMs >= h.timeoutMs ? h.timeoutMs : h.durationMs);
  let total = 0;
  for (const order of orders) {
    const members = s.hooks.map((_, i) => i).filter((i) => s.hooks[i].some((h) => h.order === order));
    const cost = (i: number) => s.hooks[i].filter((h) => h.order === order).reduce((sum, h) => sum + effective(h), 0);
    const mutual = (a: number, b: number) => reach[a][b] && reach[b][a];
    // Stop order: a before b when a reaches b (one way), or inside a cycle when a was registered later.
    const precedes = (a: number, b: number) => a !== b && (mutual(a, b) ? a > b : reach[a][b]);
    const finish = new Map<number, number>();
    const finishOf = (i: number): number => {
      if (!finish.has(i)) finish.set(i, Math.max(0, ...members.filter((a) => precedes(a, i)).map(finishOf)) + cost(i));
      return finish.get(i)!;
    };
    total += Math.max(0, ...members.map(finishOf));
  }
  return total;
}

describe('stop plan and scheduler (property)', () => {
  it('runs every hook exactly once, with the outcome its behaviour calls for', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(true), async (s) => {
        const { runs, behaviour } = await execute(s);
        const keys = runs.map((r) => r.hook.key);
        expect(new Set(keys).size).toBe(keys.length);
        expect(keys.sort()).toEqual([...behaviour.keys()].sort());
        for (const run of runs) {
          const b = behaviour.get(run.hook.key)!;
          const expected = b.durationMs === null || b.durationMs >= b.timeoutMs ? 'timeout' : b.fails ? 'error' : 'ok';
          expect(run.outcome).toBe(expected);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('ends every hook of a lower order before any hook of a higher order starts', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(true), async (s) => {
        const { runs, seq } = await execute(s);
        for (const low of runs) {
          for (const high of runs) {
            if (low.hook.order < high.hook.order) expect(seq(low.hook.key, 'end')).toBeLessThan(seq(high.hook.key, 'start'));
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('stops dependents before their dependencies, through providers without hooks, and cycles in reverse registration order', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(true), async (s) => {
        const { runs, seq } = await execute(s);
        const reach = reachability(s.hooks.length, s.edges);
        const provider = (run: HookRun) => Number(run.hook.key.slice(1, run.hook.key.indexOf('.')));
        for (const a of runs) {
          for (const b of runs) {
            const pa = provider(a);
            const pb = provider(b);
            if (pa === pb || a.hook.order !== b.hook.order || !reach[pa][pb]) continue;
            if (reach[pb][pa] && pa < pb) continue; // in a cycle the later-registered provider goes first
            expect(seq(a.hook.key, 'end')).toBeLessThan(seq(b.hook.key, 'start'));
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('lasts exactly the critical path: each hook starts the moment what it waits for has ended', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(true), async (s) => {
        const { total } = await execute(s);
        expect(total).toBe(criticalPath(s, reachability(s.hooks.length, s.edges)));
      }),
      { numRuns: 400 },
    );
  });

  it('runs the hooks of one provider one after another, in declaration order', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(false), async (s) => {
        const { runs, seq } = await execute(s);
        for (const a of runs) {
          for (const b of runs) {
            const [pa, ka] = a.hook.key.split('.');
            const [pb, kb] = b.hook.key.split('.');
            if (pa === pb && a.hook.order === b.hook.order && Number(ka) < Number(kb)) {
              expect(seq(a.hook.key, 'end')).toBeLessThan(seq(b.hook.key, 'start'));
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('warns about an order that contradicts a dependency, and a cycle, naming the classes', () => {
    const hook = (name: string, order: number) => ({ key: name, name: `${name}.close`, order, timeoutMs: 10 });
    const plan = buildStopPlan({
      nodes: [
        { id: 'db', name: 'Db', hooks: [hook('Db', 0)] },
        { id: 'api', name: 'Api', hooks: [hook('Api', 1)] },
        { id: 'cats', name: 'Cats', hooks: [hook('Cats', 0)] },
        { id: 'dogs', name: 'Dogs', hooks: [hook('Dogs', 0)] },
      ],
      edges: [
        { dependent: 'api', dependency: 'db' },
        { dependent: 'cats', dependency: 'dogs' },
        { dependent: 'dogs', dependency: 'cats' },
      ],
    });
    expect(plan.warnings.map((w) => [w.kind, w.classes])).toEqual([
      ['order-conflict', ['Api', 'Db']],
      ['cycle', ['Cats', 'Dogs']],
    ]);
  });

  it('a stop() cuts running hooks, aborts their signals, and skips the rest', async () => {
    const clock = new VirtualClock();
    const aborted: string[] = [];
    const hook = (name: string) => ({ key: name, name, order: 0, timeoutMs: 1000 });
    const plan = buildStopPlan({
      nodes: [
        { id: 'a', name: 'A', hooks: [hook('A')] },
        { id: 'b', name: 'B', hooks: [hook('B')] },
      ],
      edges: [{ dependent: 'a', dependency: 'b' }],
    });
    const scheduler = new StopScheduler(plan, (h, signal) => new Promise<void>(() => signal.addEventListener('abort', () => aborted.push(h.name))), clock);
    const run = scheduler.run();
    clock.setTimeout(() => scheduler.stop(new Error('deadline')), 10);
    const runs = await clock.drive(run);
    expect(runs.map((r) => [r.hook.name, r.outcome])).toEqual([
      ['A', 'timeout'],
      ['B', 'skipped'],
    ]);
    expect(aborted).toEqual(['A']);
  });
});
