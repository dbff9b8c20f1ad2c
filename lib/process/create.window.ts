/**
 * Signals in the first instants of `NestFactory.create()`, before the
 * module's providers exist. `GracefulModule.forRoot()` and `forRootAsync()`
 * leave a ticket on the dynamic module they return and on the options they
 * resolve. A `NestFactory.create*()` call whose module graph holds a ticket
 * opens a window as it begins: it listens to the module's signals (the
 * defaults while `forRootAsync()` has not resolved them) and holds what
 * arrives. The module's shutdown sequence, once Nest constructs it, claims
 * its window: it listens itself, and the held signals go through it as if
 * they arrived then. A window nobody claims (the call failed, hung, or
 * created no module) gives each held signal Node's default action, the
 * process ends as the signal ends it; a call that never comes (a process
 * that imports the module and never creates the application) listens to
 * nothing. Windows are shared by every copy of the package (on `globalThis`).
 */
import type { LoggerService } from '@nestjs/common';
import { findInImports, watchNestFactory } from '../adapter/nest.adapter.js';
import { DEFAULT_SIGNALS, STARTUP_ABORT_MS } from '../graceful.constants.js';
import { createGracefulLogger, type GracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import { signalSubscribers, subscribeSignal } from './signal.hub.js';

/** What a module's `forRoot()` / `forRootAsync()` call tells a create call about it. */
export interface ModuleTicket {
  /** The signals the module handles; undefined until `forRootAsync()`'s factory resolved them. */
  signals?: readonly string[];
  logger?: LoggerService | false;
}

/** A window as every copy of the package sees it: claimed through its own methods. */
interface Window {
  readonly tickets: readonly ModuleTicket[];
  readonly unsure: boolean;
  listens(signal: string): boolean;
  claim(signals: readonly string[], deliver: (signal: string) => void, rejected?: (error: unknown) => Promise<void>): void;
}

const TICKET = Symbol.for('nestjs-graceful.ticket');
const WINDOWS = Symbol.for('nestjs-graceful.create-windows');
/** At most this many signals are held (a few Ctrl+C). */
const HELD_AT_MOST = 8;

/** The open windows, oldest first. */
const windows: Set<Window> =
  ((globalThis as Record<symbol, unknown>)[WINDOWS] as Set<Window> | undefined) ?? ((globalThis as Record<symbol, unknown>)[WINDOWS] = new Set<Window>());

/** Leaves `ticket` on `target` (a dynamic module, resolved options), unseen by Nest and by copies of it. */
export function stampTicket<T extends object>(target: T, ticket: ModuleTicket): T {
  Object.defineProperty(target, TICKET, { value: ticket, configurable: true });
  return target;
}

function ticketOf(target: unknown): ModuleTicket | undefined {
  return target && typeof target === 'object' ? ((target as Record<symbol, unknown>)[TICKET] as ModuleTicket | undefined) : undefined;
}

/** From now on, each NestFactory.create*() call whose module graph holds a ticket opens a window. Once per process. */
export function watchCreateCalls(): void {
  watchNestFactory((root) => {
    const { found, unsure } = findInImports(root, ticketOf);
    if (!found && !unsure) return undefined;
    const window = new CreateWindow(found ? [found] : [], unsure);
    return (failed, error) => window.settle(failed, error);
  });
}

/**
 * Called by the module's shutdown sequence as Nest constructs it. Inside a
 * NestFactory.create*() call that opened a window for it: `listen()` is
 * called, then each held signal is handed to `deliver` (on a microtask, once
 * the constructor has returned), and `rejected` is called if the call then
 * rejects (`abortOnError: false`; the caller gets the error once it has
 * settled); returns true. Otherwise (a testing module, built without
 * NestFactory) returns false and calls nothing.
 */
export function claimCreateWindow(
  options: { signals: readonly string[] },
  listen: () => void,
  deliver: (signal: string) => void,
  rejected?: (error: unknown) => Promise<void>,
): boolean {
  const ticket = ticketOf(options);
  let window: Window | undefined;
  for (const each of windows) if (ticket && each.tickets.includes(ticket)) window ??= each;
  // A module found only once Nest awaited part of the graph.
  if (!window) for (const each of windows) if (each.unsure) window ??= each;
  if (!window) return false;
  listen();
  window.claim(options.signals, deliver, rejected);
  return true;
}

/** How many open windows listen to `signal`. */
function windowsListening(signal: string): number {
  let count = 0;
  for (const window of windows) if (window.listens(signal)) count++;
  return count;
}

class CreateWindow implements Window {
  private readonly subscriptions = new Map<string, () => void>();
  /** Each held signal, and whether it was the process's only listener's when it arrived (else another application took it). */
  private readonly held: Array<{ signal: string; alone: boolean }> = [];
  private claimed = false;
  /** The claimer's: told if the create call rejects after the claim. */
  private rejected?: (error: unknown) => Promise<void>;
  private giveUp?: NodeJS.Timeout;
  private readonly logger: GracefulLogger;

  constructor(
    readonly tickets: readonly ModuleTicket[],
    readonly unsure: boolean,
  ) {
    const signals = new Set<string>(tickets.length === 0 ? DEFAULT_SIGNALS : tickets.flatMap((ticket) => ticket.signals ?? DEFAULT_SIGNALS));
    this.logger = createGracefulLogger(tickets[0]?.logger, 'GracefulShutdown');
    windows.add(this);
    for (const signal of signals)
      this.subscriptions.set(
        signal,
        subscribeSignal(signal, (received) => this.hold(received)),
      );
  }

  listens(signal: string): boolean {
    return this.subscriptions.has(signal);
  }

  claim(signals: readonly string[], deliver: (signal: string) => void, rejected?: (error: unknown) => Promise<void>): void {
    this.close();
    this.claimed = true;
    this.rejected = rejected;
    for (const { signal, alone } of this.held.splice(0)) {
      if (signals.includes(signal)) queueMicrotask(() => deliver(signal));
      else if (alone) this.defaultAction(signal, 'unhandled');
    }
  }

  /**
   * The create call returned (or threw, `failed`). A claimed window tells
   * its claimer of a rejection (what it returns, the caller waits for); a
   * window nobody claimed gives its held signals their default action, once
   * the caller has seen the outcome.
   */
  settle(failed: boolean, error?: unknown): Promise<void> | undefined {
    this.close();
    if (this.claimed) {
      const rejected = this.rejected;
      this.rejected = undefined;
      return failed ? rejected?.(error) : undefined;
    }
    if (this.held.length === 0) return undefined;
    setImmediate(() => this.release(failed ? 'failed' : 'absent'));
    return undefined;
  }

  private hold(signal: string): void {
    if (this.claimed || this.held.length >= HELD_AT_MOST) return;
    // Only the windows listen: nobody else will act on it.
    const alone = process.listenerCount(signal) === 1 && signalSubscribers(signal) === windowsListening(signal);
    this.held.push({ signal, alone });
    this.logger.warn(MESSAGES.signalHeld(signal, STARTUP_ABORT_MS));
    // As a step under way at a signal gets, the creation gets a bound: one that hangs is not waited for.
    this.giveUp ??= setTimeout(() => this.release('hung'), STARTUP_ABORT_MS);
  }

  private release(why: 'failed' | 'hung' | 'absent'): void {
    this.close();
    if (this.claimed) return;
    this.claimed = true;
    const first = this.held.splice(0).find((held) => held.alone);
    if (first) this.defaultAction(first.signal, why);
  }

  private close(): void {
    clearTimeout(this.giveUp);
    windows.delete(this);
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
  }

  /** Raises `signal` again with no listener left: Node's default action, the process ends as the signal ends it. */
  private defaultAction(signal: string, why: 'failed' | 'hung' | 'absent' | 'unhandled'): void {
    if (process.listenerCount(signal) > 0) return;
    this.logger.error(MESSAGES.signalDefaultAction(signal, why, STARTUP_ABORT_MS));
    process.kill(process.pid, signal);
  }
}
