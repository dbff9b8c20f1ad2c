import type { HookCall } from '../../lib/discovery/shutdown-hook.explorer.js';
import { buildStopPlan } from '../../lib/graph/stop-plan.rules.js';
import { LifecycleRecord } from '../../lib/lifecycle/lifecycle.record.js';
import { resolveGracefulOptions } from '../../lib/options/graceful-options.resolver.js';
import { namesAtMost, RUNNING_NAMES_SHOWN, RunningHooks } from '../../lib/shutdown/running-hooks.list.js';
import { sequenceFor } from '../support/sequence.js';

/**
 * The process as the sequence sees it: a watchdog that records every line it
 * is told (the work sent to its thread) and can be asked, as at its
 * deadline, what it would name; exits that are only recorded.
 */
class RecordingProcess {
  readonly posts: string[] = [];
  readonly exits: number[] = [];
  describe?: () => string | undefined;
  on() {}
  guardExit() {}
  send() {}
  release() {}
  startWatchdog(_ms: number, _code: number, _message: string, running: string, describe?: () => string | undefined) {
    this.posts.push(running);
    this.describe = describe;
    return { running: (names: string) => void this.posts.push(names), stop: () => undefined };
  }
  exit(code: number) {
    this.exits.push(code);
  }
}

/**
 * Runs a SIGTERM-like shutdown of `count` hooks of one order that all run at
 * once, and returns what the watchdog was told, and what it would have named
 * had its deadline come at each hook's start.
 */
async function shutdownWithConcurrentHooks(count: number) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const calls = new Map<string, HookCall>();
  const nodes = Array.from({ length: count }, (_, i) => {
    calls.set(`p${i}`, () => gate);
    return { id: `p${i}`, name: `Provider${i}`, hooks: [{ key: `p${i}`, name: `Provider${i}.onShutdown`, order: 0, timeoutMs: 60_000 }] };
  });
  const options = resolveGracefulOptions({ platform: 'none', logger: false, readinessDelayMs: 0, shutdownTimeoutMs: 60_000, signals: ['SIGTERM'] });
  const record = new LifecycleRecord();
  const fake = new RecordingProcess();
  const sequence = sequenceFor(options, buildStopPlan({ nodes, edges: [] }), calls, record, fake);
  sequence.attach({ close: (signal?: string) => sequence.runShutdown(signal, async () => undefined) });

  let started = 0;
  const atStarts: Array<{ hook: string; line: string }> = [];
  record.events$.subscribe((event) => {
    if (event.type !== 'hook-start') return;
    // The hook is known to be running before its event: the deadline's line now names it first.
    atStarts.push({ hook: event.hook, line: fake.describe!()! });
    if (++started === count) open();
  });
  const report = await sequence.begin('SIGTERM', { delay: false, exit: true });
  return { posts: fake.posts, atStarts, report, afterEnd: fake.describe!() };
}

describe('the watchdog learns what runs in constant work per hook event', () => {
  it('with 5,000 hooks running at once, nothing is sent to the watchdog per hook, and what it would name at any moment is at most 20 hooks plus a count', async () => {
    const { posts, atStarts, report, afterEnd } = await shutdownWithConcurrentHooks(5_000);
    expect(report.hooks.filter((hook) => hook.outcome === 'ok')).toHaveLength(5_000);

    // One line when it starts and one per stage: none per hook start or end.
    expect(posts.length).toBeLessThan(20);
    // What it would name is bounded: 20 names of ~24 characters and a count, never the running set (5,000 names are ~130,000 characters).
    const lines = atStarts.map((start) => start.line);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(RUNNING_NAMES_SHOWN * 30 + 20);

    // Still what runs: the hook just starting comes first, and the count covers the rest.
    for (const { hook, line } of atStarts) expect(line.startsWith(`${hook}, `) || line === hook).toBe(true);
    expect(atStarts[4_999].line).toMatch(/, and 4980 more$/);
    expect(afterEnd).not.toMatch(/onShutdown/);
  });

  it('the line for one hook event does not grow with the number of hooks running', async () => {
    const small = await shutdownWithConcurrentHooks(100);
    const large = await shutdownWithConcurrentHooks(4_000);
    const longest = (starts: Array<{ line: string }>) => Math.max(...starts.map((start) => start.line.length));
    // Names differ by a digit or two; the list itself is the same size.
    expect(longest(large.atStarts)).toBeLessThanOrEqual(longest(small.atStarts) + RUNNING_NAMES_SHOWN * 2 + 4);
  });

  it('names at most 20 running hooks in order, then how many more', () => {
    const running = new RunningHooks();
    expect(running.describe()).toBeUndefined();
    for (let i = 0; i < 50; i++) running.add(`k${i}`, `H${i}`);
    for (let i = 0; i < 10; i++) running.delete(`k${i}`);
    expect(running.describe()).toBe([...Array.from({ length: 20 }, (_, i) => `H${i + 10}`), 'and 20 more'].join(', '));
    expect(running.describe('k49')?.split(', ').slice(0, 3)).toEqual(['H49', 'H10', 'H11']);
    expect(running.describeNewestFirst()).toBe(running.describe('k49'));
    expect(running.size).toBe(40);
    for (let i = 10; i < 50; i++) running.delete(`k${i}`);
    expect(running.describe()).toBeUndefined();
    expect(namesAtMost(['a', 'b'], 5, 1)).toEqual(['a', 'and 4 more']);
    expect(namesAtMost(['a', 'b'])).toEqual(['a', 'b']);
  });
});
