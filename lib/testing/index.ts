/**
 * `nestjs-graceful/testing`: prove a shutdown in a test. Runs the full
 * sequence of an application or testing module without ending the process,
 * with faults injected into named hooks, and returns the report.
 */
import type { INestApplicationContext } from '@nestjs/common';
import type { ShutdownReport } from '../interfaces/shutdown-report.interface.js';
import { ShutdownSequence } from '../shutdown/shutdown.sequence.js';
import { withFaults, type HookFault } from './hook-faults.js';

export type { HookFault } from './hook-faults.js';

export interface RunShutdownOptions {
  /** As if this signal (or reason) had arrived: what the hooks see as `ctx.reason`. @default 'SIGTERM' */
  reason?: string;
  /**
   * Serve with readiness down for `readinessDelayMs` first, as a real SIGTERM
   * does. Off by default, so that a test on a detected platform (a CI pod with
   * `KUBERNETES_SERVICE_HOST` set) does not wait the platform's delay.
   * @default false
   */
  readinessDelay?: boolean;
  /** By `Class.method`: `{ delayMs }` runs the hook late, `{ throws }` fails it, `{ hang: true }` never lets it settle. */
  faults?: Record<string, HookFault>;
}

/**
 * Shuts `app` down the way a signal would (drain, hooks, Nest's hooks, final
 * hooks, deadline), except that the process stays alive and, unless asked,
 * there is no readiness delay; resolves with the report. `app` is closed
 * afterwards. The same under Jest and Vitest: it uses no test runner's API.
 */
export function runShutdown(app: INestApplicationContext, options: RunShutdownOptions = {}): Promise<ShutdownReport> {
  const sequence = app.get(ShutdownSequence, { strict: false });
  const reason = options.reason ?? 'SIGTERM';
  sequence.useHookWrapper(withFaults(options.faults ?? {}));
  sequence.attach(app);
  return sequence.begin(reason, { delay: options.readinessDelay ?? false, exit: false });
}

/** The hooks that ran, in the order they started (`Class.method`). */
export function stopOrder(report: ShutdownReport): string[] {
  return report.hooks
    .filter((hook) => hook.start !== undefined)
    .sort((a, b) => a.start! - b.start!)
    .map((hook) => hook.name);
}

/** Whether hook `first` ended before hook `second` started. */
export function endedBefore(report: ShutdownReport, first: string, second: string): boolean {
  const a = report.hooks.find((hook) => hook.name === first);
  const b = report.hooks.find((hook) => hook.name === second);
  if (!a?.end || !b?.start) throw new Error(`${!a?.end ? first : second} did not run; stopOrder(report) lists the hooks that did.`);
  return a.end <= b.start;
}

/**
 * Fails, naming each, when something opened since the application started
 * (a server, a socket, a child process, a timer) was still open when its
 * shutdown ended: what would keep a test runner from exiting. With the
 * `traceHandles` option each is named with where it was created.
 */
export function assertNoOpenHandles(report: ShutdownReport): void {
  const open = report.openHandles ?? [];
  if (open.length === 0) return;
  const lines = open.map((handle) => `  - ${handle.type}: ${handle.description}${handle.createdAt ? `\n    created at ${handle.createdAt}` : ''}`);
  throw new Error(`${open.length} handle(s) still open after the shutdown; close each in an @OnShutdown() hook:\n${lines.join('\n')}`);
}
