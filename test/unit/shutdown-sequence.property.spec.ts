import fc from 'fast-check';
import type { HookCall } from '../../lib/discovery/shutdown-hook.explorer.js';
import { buildStopPlan } from '../../lib/graph/stop-plan.rules.js';
import type { ExitCall } from '../../lib/interfaces/shutdown-report.interface.js';
import { LifecycleRecord } from '../../lib/lifecycle/lifecycle.record.js';
import { resolveGracefulOptions } from '../../lib/options/graceful-options.resolver.js';
import { LIFECYCLE_EDGES, sequenceFor } from '../support/sequence.js';

/** The process as the sequence sees it, without a real one: listeners the test fires, exits it records. */
class FakeProcess {
  readonly listeners = new Map<string, (...args: unknown[]) => void>();
  readonly exits: number[] = [];
  readonly watchdogs: Array<{ stopped: boolean }> = [];
  exitCall?: (call: ExitCall) => void;
  on(event: string, listener: (...args: unknown[]) => void) {
    if (!this.listeners.has(event)) this.listeners.set(event, listener);
  }
  guardExit(onCall: (call: ExitCall) => void) {
    this.exitCall ??= onCall;
  }
  release() {
    this.listeners.clear();
    this.exitCall = undefined;
  }
  releaseSignals() {
    for (const event of [...this.listeners.keys()]) if (event.startsWith('SIG')) this.listeners.delete(event);
  }
  startWatchdog() {
    const watchdog = { stopped: false, running: () => undefined, stop: () => void (watchdog.stopped = true) };
    this.watchdogs.push(watchdog);
    return watchdog;
  }
  exit(code: number) {
    this.exits.push(code);
  }
  fire(event: string, ...args: unknown[]) {
    this.listeners.get(event)?.(...args);
  }
}

type Action = 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'close' | 'shutdown' | 'fatal' | 'process.exit';
const action = fc.constantFrom<Action>('SIGTERM', 'SIGINT', 'SIGHUP', 'close', 'shutdown', 'fatal', 'process.exit');

/** Random provider graphs (acyclic, a few orders) whose hooks take 0 to 3 ms. */
const scenario = fc.integer({ min: 1, max: 8 }).chain((n) =>
  fc.record({
    hooks: fc.array(fc.array(fc.record({ order: fc.constantFrom(0, 0, 1), ms: fc.integer({ min: 0, max: 3 }), fails: fc.boolean() }), { maxLength: 2 }), {
      minLength: n,
      maxLength: n,
    }),
    edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: n * 2 }).map((pairs) => pairs.filter(([a, b]) => a > b)),
    actions: fc.array(fc.tuple(action, fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 6 }),
  }),
);

type LifecycleAction = 'SIGTERM' | 'SIGINT' | 'close' | 'fatal' | 'unready' | 'ready';

/** A startup step and what happens around it: its end (or failure, or none), a startup timeout or none, and the actions. */
const lifecycleScenario = fc.record({
  hooks: fc.array(fc.array(fc.record({ order: fc.constantFrom(0, 1), fails: fc.boolean() }), { maxLength: 2 }), { minLength: 1, maxLength: 4 }),
  startup: fc.constantFrom('ok', 'fail', 'hang'),
  startupMs: fc.integer({ min: 0, max: 4 }),
  startupTimeoutMs: fc.option(fc.integer({ min: 1, max: 6 })),
  actions: fc.array(
    fc.tuple(fc.constantFrom<LifecycleAction>('SIGTERM', 'SIGINT', 'close', 'fatal', 'unready', 'ready', 'unready'), fc.integer({ min: 0, max: 4 })),
    { maxLength: 5 },
  ),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Provider nodes whose hooks count their runs in `ran`, take `ms` (when given) and fail when told to. */
function countedHooks(providers: Array<Array<{ order: number; fails: boolean; ms?: number }>>) {
  const calls = new Map<string, HookCall>();
  const ran = new Map<string, number>();
  const nodes = providers.map((hooks, i) => ({
    id: `p${i}`,
    name: `P${i}`,
    hooks: hooks.map((h, k) => {
      const key = `p${i}.${k}`;
      calls.set(key, async () => {
        ran.set(key, (ran.get(key) ?? 0) + 1);
        if (h.ms !== undefined) await sleep(h.ms);
        if (h.fails) throw new Error(`${key} failed`);
      });
      return { key, name: `P${i}.m${k}`, order: h.order, timeoutMs: 1000 };
    }),
  }));
  return { calls, ran, nodes };
}

describe('the shutdown sequence (property)', () => {
  it("under any interleaving of signals, close(), shutdown(), fatal errors and process.exit(), runs every hook and Nest's hooks exactly once and publishes one report", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { calls, ran, nodes } = countedHooks(s.hooks);
        const plan = buildStopPlan({ nodes, edges: s.edges.map(([a, b]) => ({ dependent: `p${a}`, dependency: `p${b}` })) });
        const options = resolveGracefulOptions({
          platform: 'none',
          logger: false,
          readinessDelayMs: 2,
          drainTimeoutMs: 50,
          shutdownTimeoutMs: 10_000,
          signals: ['SIGTERM', 'SIGINT', 'SIGHUP'],
        });
        const record = new LifecycleRecord();
        const fake = new FakeProcess();
        const sequence = sequenceFor(options, plan, calls, record, fake);
        // NestFactory has created the application (a signal before that is a startup's, tested end to end).
        sequence.created();
        let nestRuns = 0;
        // Nest 11's close(): no guard of its own, every call goes to the host.
        const app = { close: (signal?: string) => sequence.runShutdown(signal, async () => void nestRuns++) };
        sequence.attach(app);
        const reports: unknown[] = [];
        record.events$.subscribe((event) => event.type === 'shutdown-end' && reports.push(event.report));
        const stopped = new Promise<void>((resolve) => record.state$.subscribe((state) => state === 'stopped' && resolve()));

        for (const [what, delay] of s.actions) {
          if (delay > 0) await sleep(delay);
          if (what === 'close') void app.close();
          else if (what === 'shutdown') void sequence.begin('shutdown', { delay: true, exit: true });
          else if (what === 'fatal') fake.fire('uncaughtException', new Error('boom'));
          else if (what === 'process.exit') fake.exitCall?.({ code: 2, at: Date.now() });
          else fake.fire(what);
        }
        const started = s.actions.some(([what]) => what !== 'process.exit');
        if (!started) return;
        await stopped;

        expect(reports).toHaveLength(1);
        expect(nestRuns).toBe(1);
        for (const key of calls.keys()) expect(ran.get(key)).toBe(1);
        // After the one report, no listener is left to start another, and no watchdog is left to end the process.
        expect(fake.listeners.size).toBe(0);
        // Entering again after the end returns the same report and arms nothing (an app.close() run stays ended).
        const again = await Promise.all([app.close().then(() => record.lastReport), sequence.begin('shutdown', { delay: true, exit: true })]);
        expect(again).toEqual([record.lastReport, record.lastReport]);
        expect(reports).toHaveLength(1);
        expect(nestRuns).toBe(1);
        expect(fake.watchdogs.every((watchdog) => watchdog.stopped)).toBe(true);
        // The run exits once at most, last, with the code its report decided; any exit before it is an immediate one
        // (130 for a second SIGINT, 1 for a second fatal error).
        const [last, ...earlier] = [...fake.exits].reverse();
        for (const code of earlier) expect([130, 1]).toContain(code);
        // Only a second SIGINT exits 130, whatever started the run (a close() included).
        if (fake.exits.includes(130)) expect(s.actions.filter(([what]) => what === 'SIGINT').length).toBeGreaterThanOrEqual(2);
        if (last !== undefined && last !== 130 && last !== 1) expect(last).toBe(record.lastReport!.exitCode);
      }),
      { numRuns: 80 },
    );
  });

  it('under any interleaving of a startup step (ending, failing or hanging), startupTimeoutMs, signals, close(), fatal errors and markUnready/markReady, moves only along the allowed edges, runs every hook once and publishes one report', async () => {
    await fc.assert(
      fc.asyncProperty(lifecycleScenario, async (s) => {
        const { calls, ran, nodes } = countedHooks(s.hooks);
        const plan = buildStopPlan({ nodes, edges: [] });
        const options = resolveGracefulOptions({
          platform: 'none',
          logger: false,
          readinessDelayMs: 2,
          drainTimeoutMs: 50,
          shutdownTimeoutMs: 10_000,
          signals: ['SIGTERM', 'SIGINT'],
          ...(s.startupTimeoutMs === null ? {} : { startupTimeoutMs: s.startupTimeoutMs }),
        });
        const record = new LifecycleRecord();
        const fake = new FakeProcess();
        const sequence = sequenceFor(options, plan, calls, record, fake);
        sequence.startup.abortMs = 2;
        const states: string[] = [record.state];
        record.state$.subscribe((state) => state !== states.at(-1) && states.push(state));
        const reports: unknown[] = [];
        record.events$.subscribe((event) => event.type === 'shutdown-end' && reports.push(event.report));
        const stopped = new Promise<void>((resolve) => record.state$.subscribe((state) => state === 'stopped' && resolve()));
        let nestRuns = 0;
        const app = { close: (signal?: string) => sequence.runShutdown(signal, async () => void nestRuns++) };
        sequence.created();
        sequence.attach(app);
        // init(): ends, fails or hangs, `startupMs` from now.
        const timers: NodeJS.Timeout[] = [];
        void sequence
          .bootstrapping(
            'init',
            () =>
              new Promise<void>((resolve, reject) => {
                if (s.startup === 'ok') timers.push(setTimeout(resolve, s.startupMs));
                if (s.startup === 'fail') timers.push(setTimeout(() => reject(new Error('init failed')), s.startupMs));
              }),
          )
          .catch(() => undefined);

        for (const [what, delay] of s.actions) {
          if (delay > 0) await sleep(delay);
          if (what === 'close') void app.close();
          else if (what === 'fatal') fake.fire('uncaughtException', new Error('boom'));
          else if (what === 'unready') record.markUnready('lost');
          else if (what === 'ready') record.markReady();
          else fake.fire(what);
        }
        // Whatever happened, the test ends the application.
        void app.close();
        await stopped;
        timers.forEach(clearTimeout);

        for (let i = 1; i < states.length; i++) expect(LIFECYCLE_EDGES).toContain(`${states[i - 1]}>${states[i]}`);
        expect(reports).toHaveLength(1);
        expect(nestRuns).toBe(1);
        for (const key of calls.keys()) expect(ran.get(key)).toBe(1);
        const report = record.lastReport!;
        // A hung step is either timed out or left running by the run: the startup failed, and says so.
        if (s.startup === 'hang' || s.startup === 'fail') expect(report.startupError).toBeDefined();
        if (states.includes('failed')) expect(report.startupError).toBeDefined();
        if (report.startupError !== undefined) expect([1, 124]).toContain(report.exitCode);
        // A rolled-back startup says where it failed, and calls rolled back exactly the hooks that ran.
        if (report.startupError !== undefined) {
          expect(report.startup?.error).toBe(report.startupError);
          expect(report.startup?.rolledBack).toEqual(report.hooks.filter((hook) => hook.outcome !== 'skipped').map((hook) => hook.name));
        } else expect(report.startup).toBeUndefined();
        expect(fake.listeners.size).toBe(0);
      }),
      { numRuns: 120 },
    );
  });
});
