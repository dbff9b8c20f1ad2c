/**
 * The process side of the shutdown: signal and fatal-error listeners, the
 * guard that keeps a `process.exit()` during the shutdown from cutting it
 * short, the deadline watchdog, and the one real exit. Knows nothing of Nest.
 */
import { Injectable } from '@nestjs/common';
import type { ExitCall } from '../interfaces/shutdown-report.interface.js';
import { MODULE_LISTENER, subscribeSignal } from './signal.hub.js';
import { DeadlineWatchdog } from '../shutdown/deadline.watchdog.js';

type Listener = (...args: unknown[]) => void;

/** Whether a process listener is one of the module's (of any copy of it). */
export function isModuleListener(listener: unknown): boolean {
  const original = (listener as { listener?: unknown } | undefined)?.listener ?? listener;
  return typeof original === 'function' && (original as unknown as Record<symbol, unknown>)[MODULE_LISTENER] === true;
}

@Injectable()
export class ProcessSignals {
  private readonly listeners = new Map<string, Listener>();
  /** Signals go through the process's one listener per signal (the hub): what to call to unsubscribe, by signal. */
  private readonly subscriptions = new Map<string, () => void>();
  /** Every signal listened to, kept after `release()`: the exit ignores them until the process is gone. */
  private readonly signals = new Set<string>();
  private originalExit?: typeof process.exit;

  /** Listens to `event` once per instance, however often it is asked. Signals share one process listener. */
  on(event: string, listener: Listener): void {
    if (event.startsWith('SIG')) {
      if (this.subscriptions.has(event)) return;
      this.signals.add(event);
      this.subscriptions.set(event, subscribeSignal(event, listener));
      return;
    }
    if (this.listeners.has(event)) return;
    Object.defineProperty(listener, MODULE_LISTENER, { value: true });
    this.listeners.set(event, listener);
    process.on(event, listener);
  }

  /** Stops listening to signals (the other events stay): `on()` may subscribe again. */
  releaseSignals(): void {
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
  }

  /**
   * Until `release()`, `process.exit(code)` does not end the process: the
   * call is handed to `onCall` with its caller, and returns.
   */
  guardExit(onCall: (call: ExitCall) => void): void {
    if (this.originalExit) return;
    const original = process.exit;
    this.originalExit = original;
    const guard = function exit(code?: number | string | null): never {
      const caller = callerOf(new Error().stack);
      const parsed = Number(code ?? process.exitCode ?? 0);
      onCall({ code: Number.isInteger(parsed) ? parsed : 1, caller, at: Date.now() });
      return undefined as never;
    };
    process.exit = guard;
  }

  /** Sends a message to the parent process (PM2), if there is a channel to it. */
  send(message: string): void {
    process.send?.(message, undefined, {}, (error: Error | null) => void error);
  }

  /** Removes every listener and the exit guard. */
  release(): void {
    this.releaseSignals();
    for (const [event, listener] of this.listeners) process.removeListener(event, listener);
    this.listeners.clear();
    if (this.originalExit) process.exit = this.originalExit;
    this.originalExit = undefined;
  }

  /** Arms the watchdog that ends a blocked process with `code` in `ms` (see DeadlineWatchdog). */
  startWatchdog(ms: number, code: number, message: string, running: string, describe?: () => string | undefined): Pick<DeadlineWatchdog, 'running' | 'stop'> {
    return new DeadlineWatchdog(ms, code, message, running, describe);
  }

  /**
   * Ends the process with `code`, past the guard. The signals listened to
   * stay caught until the process is gone: with no listener left, a signal
   * arriving during the exit (its 'exit' listeners, stdio flushing) would
   * kill the process with the signal's default action instead of `code`.
   */
  exit(code: number): never {
    const exit = this.originalExit ?? process.exit;
    for (const signal of this.signals) if (!this.subscriptions.has(signal)) this.on(signal, () => undefined);
    process.exitCode = code;
    return exit.call(process, code);
  }
}

/** The first frame of a stack that is not this file's or Node's own. */
function callerOf(stack: string | undefined): string | undefined {
  const frames = (stack ?? '')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().replace(/^at /, ''));
  return frames.find((frame) => !frame.includes('process-signals') && !frame.includes('node:internal'));
}
