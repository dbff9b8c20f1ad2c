/**
 * Watches the traffic during the readiness delay, so that the delay can end
 * once the balancers have stopped sending instead of after a guessed time.
 *
 * Every request that arrives is traffic, unless it turns out to be a probe:
 * the readiness and liveness indicators mark the request they answer through
 * an AsyncLocalStorage entered when the request arrived. The store is entered
 * only while the watch runs (from the signal to the end of the delay), so
 * steady-state traffic pays nothing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A request seen during the delay. */
interface Seen {
  at: number;
  probe: boolean;
}

const requests = new AsyncLocalStorage<Seen>();

/** Called by the indicators: the request being answered is a probe (and, for readiness, answered down). */
export function markProbe(): void {
  const seen = requests.getStore();
  if (seen) seen.probe = true;
}

/** Why the readiness delay ended. */
export type DelayEnd = 'quiet' | 'bound' | 'deadline';

/** The measured delay's settings, resolved from the options. */
export interface QuietRule {
  /** The longest delay: `readinessDelayMs`. */
  boundMs: number;
  /** Never end before this: `readinessMinDelayMs`. */
  floorMs: number;
  /** How long no request but probes must have arrived: `readinessQuietMs`. */
  quietMs: number;
}

/** What the watch saw: pure data, for the decision and the report. */
export interface TrafficSeen {
  /** When the readiness indicator first answered down after the signal, if it did. */
  probeDownAt?: number;
  /** Arrival of the latest request that is not known to be a probe (the signal's time if none). */
  lastTrafficAt: number;
  probes: number;
  requests: number;
}

/**
 * When the delay may end, given what was seen (pure): the bound at the
 * latest; earlier once the readiness probe answered down, nothing but probes
 * arrived for `quietMs`, and the floor has passed. Undefined while a probe
 * still has to answer down (the delay then waits for it or for the bound).
 */
export function delayEnd(rule: QuietRule, start: number, seen: TrafficSeen): { at: number; by: DelayEnd } {
  const bound = start + rule.boundMs;
  if (seen.probeDownAt === undefined) return { at: bound, by: 'bound' };
  const quiet = Math.max(start + rule.floorMs, seen.probeDownAt, seen.lastTrafficAt + rule.quietMs);
  return quiet < bound ? { at: quiet, by: 'quiet' } : { at: bound, by: 'bound' };
}

/** The live side: listens to the server's requests while the delay runs. */
export class TrafficWatch {
  private readonly pending = new Set<Seen>();
  private readonly seen: TrafficSeen;
  private changed?: () => void;

  constructor(
    private readonly server: Pick<NodeJS.EventEmitter, 'prependListener' | 'removeListener'> | undefined,
    start: number,
  ) {
    this.seen = { lastTrafficAt: start, probes: 0, requests: 0 };
    this.server?.prependListener('request', this.onRequest);
  }

  /** The readiness indicator answered down. */
  probeDown(at = Date.now()): void {
    if (this.seen.probeDownAt !== undefined) return;
    this.seen.probeDownAt = at;
    this.changed?.();
  }

  /** What has been seen so far, with the requests still unclassified counted as traffic. */
  snapshot(): TrafficSeen {
    let lastTrafficAt = this.seen.lastTrafficAt;
    for (const request of this.pending) if (!request.probe && request.at > lastTrafficAt) lastTrafficAt = request.at;
    return { ...this.seen, lastTrafficAt };
  }

  /** Called whenever what was seen changes, so that the delay can look again. */
  onChange(listener: () => void): void {
    this.changed = listener;
  }

  stop(): void {
    this.server?.removeListener('request', this.onRequest);
    this.changed = undefined;
  }

  private readonly onRequest = (_request: unknown, response: NodeJS.EventEmitter): void => {
    const entry: Seen = { at: Date.now(), probe: false };
    this.seen.requests++;
    this.pending.add(entry);
    // The rest of this request's work, Nest's handler included, runs with `entry` as its store.
    requests.enterWith(entry);
    response.once('close', () => this.settle(entry));
    this.changed?.();
  };

  private settle(entry: Seen): void {
    this.pending.delete(entry);
    if (entry.probe) this.seen.probes++;
    else if (entry.at > this.seen.lastTrafficAt) this.seen.lastTrafficAt = entry.at;
    this.changed?.();
  }
}
