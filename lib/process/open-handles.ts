/**
 * What would keep the process alive once the shutdown has ended: servers,
 * sockets, child processes, worker threads and timers created after the module started,
 * still open. Node lists them (`process._getActiveHandles()`, and the types
 * of the rest in `process.getActiveResourcesInfo()`); a baseline taken when
 * the module starts leaves out what the process had before (a test
 * runner's own). With tracing, `async_hooks` records where each was created.
 * Knows nothing of Nest.
 */
import { createHook, type AsyncHook } from 'node:async_hooks';
import type { ChildProcess } from 'node:child_process';
import type { OpenHandleReport } from '../interfaces/shutdown-report.interface.js';
import { WorkerWatch } from './worker-threads.js';

type Handle = { constructor?: { name?: string }; _handle?: object; fd?: number } & Record<string, unknown>;
const activeHandles = (): Handle[] => (process as unknown as { _getActiveHandles?(): Handle[] })._getActiveHandles?.() ?? [];
/** Timers a test runner sets around a test (its reporters, its timeouts): not the application's. */
const TEST_RUNNER = /[\\/]node_modules[\\/](@jest|jest-[a-z-]+|jest|vitest|@vitest|tinypool)[\\/]/;
const timersNow = (): number => process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length;

/** Where a resource was created: the first frames of the stack outside Node's internals. */
function creationSite(): string {
  return (new Error().stack ?? '')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().replace(/^at /, ''))
    .filter((frame) => !frame.includes('(node:') && !frame.startsWith('node:') && !frame.includes('open-handles'))
    .slice(0, 3)
    .join(' < ');
}

export class HandleWatch {
  private readonly before: WeakSet<object>;
  private readonly timersBefore: number;
  private readonly created = new WeakMap<object, string>();
  private readonly sites = new Map<number, string>();
  /** With tracing: the timers created since, until destroyed. */
  private readonly timers = new Map<number, { timer: { hasRef?(): boolean }; site: string }>();
  private hook?: AsyncHook;
  /** Worker threads, which Node does not list: announced as they are created. */
  private readonly threads = new WorkerWatch();

  constructor(trace: boolean) {
    this.before = new WeakSet(activeHandles());
    this.timersBefore = timersNow();
    if (!trace) return;
    this.hook = createHook({
      init: (asyncId, type, trigger, resource) => {
        if (type === 'PROMISE') return;
        // A resource created by Node itself (a socket a server accepted) is named after what made it.
        const own = creationSite();
        const site = own || (this.sites.has(trigger) ? `accepted by what was created at ${this.sites.get(trigger)}` : '');
        if (!site) return;
        this.sites.set(asyncId, site);
        this.created.set(resource, site);
        if (type === 'Timeout') this.timers.set(asyncId, { timer: resource as { hasRef?(): boolean }, site });
      },
      destroy: (asyncId) => {
        this.sites.delete(asyncId);
        this.timers.delete(asyncId);
      },
    }).enable();
  }

  /** Child processes started since the module started, still running, and not being stopped by the application (`kill()` not called). */
  children(): ChildProcess[] {
    return activeHandles().filter(
      (handle): handle is Handle & ChildProcess =>
        !this.before.has(handle) &&
        typeof handle.pid === 'number' &&
        typeof handle.kill === 'function' &&
        handle.exitCode === null &&
        handle.signalCode === null &&
        handle.killed !== true,
    ) as ChildProcess[];
  }

  /** Worker threads started since the module started, still running (not the module's own). */
  workers(): ReturnType<WorkerWatch['left']> {
    return this.threads.left();
  }

  /**
   * What is still open, once what the last stages closed has had a few turns
   * of the event loop to finish closing (a socket's peer answering its FIN, a
   * child signalled by a hook exiting): at most `boundMs`, and only while
   * something is open.
   */
  async settled(boundMs: number, countTimers: boolean): Promise<OpenHandleReport[]> {
    const until = Date.now() + boundMs;
    let open = this.open(countTimers);
    while (open.length > 0 && Date.now() < until) {
      // Not a timer: it would count itself as one.
      await new Promise((resolve) => setImmediate(resolve));
      open = this.open(countTimers);
    }
    return open;
  }

  /**
   * What keeps the process alive now that was not there when the module
   * started. Timers are told apart by where they were created, so without
   * tracing they are counted only when `countTimers` (the process is the
   * application's own: in a test runner's process its timers come and go).
   */
  open(countTimers = true): OpenHandleReport[] {
    const open: OpenHandleReport[] = [];
    for (const handle of activeHandles()) {
      if (this.before.has(handle) || isStdio(handle) || handle === (process as { channel?: unknown }).channel) continue;
      const site = handle._handle ? this.created.get(handle._handle) : undefined;
      open.push({ ...describe(handle), ...(site ? { createdAt: site } : {}) });
    }
    for (const { name } of this.threads.left()) open.push({ type: 'worker thread', description: name });
    if (this.hook) {
      for (const { timer, site } of this.timers.values()) {
        if (timer.hasRef?.() !== false && !TEST_RUNNER.test(site)) open.push({ type: 'timer', description: 'a timer', createdAt: site });
      }
    } else if (countTimers) {
      const timers = timersNow() - this.timersBefore;
      if (timers > 0) open.push({ type: 'timer', description: `${timers} timer(s) (set traceHandles to see where each was created)` });
    }
    return open;
  }

  release(): void {
    this.threads.release();
    this.hook?.disable();
    this.timers.clear();
    this.sites.clear();
  }
}

function isStdio(handle: Handle): boolean {
  const stdio: unknown[] = [process.stdin, process.stdout, process.stderr];
  return stdio.includes(handle) || (typeof handle.fd === 'number' && handle.fd <= 2);
}

function describe(handle: Handle): Pick<OpenHandleReport, 'type' | 'description'> {
  const address = typeof handle.address === 'function' ? (handle.address as () => unknown).call(handle) : undefined;
  if (typeof handle.pid === 'number') {
    return { type: 'child process', description: `pid ${handle.pid} (${String(handle.spawnfile ?? 'unknown')})` };
  }
  if (typeof handle.listen === 'function') {
    const at =
      address && typeof address === 'object'
        ? `${(address as { address: string }).address}:${(address as { port: number }).port}`
        : String(address ?? 'not listening');
    return { type: 'server', description: `${handle.constructor?.name ?? 'Server'} on ${at}` };
  }
  if (typeof handle.remoteAddress === 'string' || typeof handle.remotePort === 'number') {
    return {
      type: 'socket',
      description: `${String(handle.localAddress)}:${String(handle.localPort)} -> ${String(handle.remoteAddress)}:${String(handle.remotePort)}`,
    };
  }
  return { type: (handle.constructor?.name ?? 'handle').toLowerCase(), description: handle.constructor?.name ?? 'a handle' };
}
