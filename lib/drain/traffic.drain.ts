import { setMaxListeners } from 'node:events';
import type { GracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { CutRequest, DrainReport, IntakeReport } from '../interfaces/shutdown-report.interface.js';
import type { IntakeSource } from '../intake/intake.source.js';
import { messageOf } from '../report/shutdown-report.builder.js';
import { untilAborted } from '../shutdown/abortable-delay.js';
import type { HttpServerRegistry } from './http-server.registry.js';
import { CUT_REQUESTS_NAMED, type HttpDrain } from './http.drain.js';
import type { WorkTracker } from './work.tracker.js';

export interface DrainOutcome {
  drain: DrainReport;
  /** One row per source, in the order they ended. */
  intake: IntakeReport[];
}

/**
 * The drain stage: every source of work (each HTTP server, the integrations' sources,
 * `@OnDrain()` methods, tracked work) stops taking work and waits for what it
 * took, all at once, for at most `timeoutMs` or until `abort` fires. Says
 * what each did. Never rejects.
 */
export async function drainIntake(
  http: HttpServerRegistry | undefined,
  work: WorkTracker,
  sources: IntakeSource[],
  timeoutMs: number,
  abort: AbortSignal,
  logger: GracefulLogger,
  onEnd: (row: IntakeReport) => void,
): Promise<DrainOutcome> {
  const startedAt = Date.now();
  const ended = new AbortController();
  // Every source, and every wait inside one, listens to it.
  setMaxListeners(0, ended.signal);
  const timer = setTimeout(() => ended.abort(new Error(MESSAGES.drainTimeoutReason(timeoutMs))), timeoutMs);
  const onAbort = () => ended.abort(abort.reason);
  if (abort.aborted) onAbort();
  else abort.addEventListener('abort', onAbort, { once: true });
  work.startCounting();

  const intake: IntakeReport[] = [];
  const record = (row: IntakeReport) => {
    intake.push(row);
    onEnd(row);
  };
  const servers = http?.serving ? http : undefined;
  if (!servers) logger.log(MESSAGES.drainSources(sources.length, timeoutMs));

  const tracked: IntakeSource = {
    name: 'track()',
    kind: 'tracked',
    unit: 'task',
    drain: (signal) => work.settled(signal),
    finished: () => work.finished,
    running: () => work.size,
  };
  const all = work.used ? [...sources, tracked] : sources;
  const [drains] = await Promise.all([
    servers ? servers.drain((server) => drainHttp(server, ended.signal, timeoutMs, logger, record)) : [],
    ...all.map((source) => drainSource(source, ended.signal, record)),
  ]);

  clearTimeout(timer);
  abort.removeEventListener('abort', onAbort);
  const stillRunning = work.size;
  if (stillRunning > 0) work.abort(ended.signal.reason);
  ended.abort();
  // HTTP says what it cut in its own words.
  for (const row of intake.filter((source) => source.kind !== 'http')) {
    if (row.outcome === 'timeout') logger.warn(MESSAGES.intakeNotStopped(row.name, row.stillRunning, row.unit, timeoutMs));
    if (row.outcome === 'error') logger.error(MESSAGES.intakeFailed(row.name, row.error ?? ''));
  }
  return { drain: { ...sumDrains(drains, Date.now() - startedAt), trackedWorkCut: stillRunning }, intake };
}

/** The drains of several servers as one: counts added, the cut requests longest first (at most 20 named), the longest duration. */
export function sumDrains(drains: DrainReport[], durationMs: number): DrainReport {
  const cutRequests: CutRequest[] = drains.flatMap((drain) => drain.cutRequests);
  cutRequests.sort((a, b) => b.runningMs - a.runningMs);
  const sum = (field: 'inFlightAtStart' | 'requestsCompleted' | 'idleConnectionsClosed' | 'requestsCut' | 'trackedWorkCut') =>
    drains.reduce((total, drain) => total + drain[field], 0);
  return {
    inFlightAtStart: sum('inFlightAtStart'),
    requestsCompleted: sum('requestsCompleted'),
    idleConnectionsClosed: sum('idleConnectionsClosed'),
    requestsCut: sum('requestsCut'),
    cutRequests: cutRequests.slice(0, CUT_REQUESTS_NAMED),
    trackedWorkCut: sum('trackedWorkCut'),
    durationMs: drains.length > 0 ? Math.max(...drains.map((drain) => drain.durationMs)) : durationMs,
  };
}

async function drainHttp(http: HttpDrain, signal: AbortSignal, timeoutMs: number, logger: GracefulLogger, record: (row: IntakeReport) => void) {
  const start = Date.now();
  const name = http.name;
  const report = await http.drain(signal, (inFlight) => logger.log(MESSAGES.drainStarted(inFlight, timeoutMs, name)));
  if (report.requestsCut > 0) logger.warn(MESSAGES.drainCut(report.requestsCut, timeoutMs, name, report.cutRequests));
  else logger.log(MESSAGES.drained(report.requestsCompleted, report.idleConnectionsClosed, report.durationMs, name));
  record({
    name,
    kind: 'http',
    unit: 'request',
    start,
    end: Date.now(),
    finished: report.requestsCompleted,
    stillRunning: report.requestsCut,
    outcome: report.requestsCut > 0 ? 'timeout' : 'ok',
  });
  return report;
}

async function drainSource(source: IntakeSource, signal: AbortSignal, record: (row: IntakeReport) => void): Promise<void> {
  const start = Date.now();
  let error: unknown;
  let failed = false;
  // Never rejects (a source that throws is reported); a source whose own drain does not end at the signal is left behind then.
  await untilAborted(
    Promise.resolve().then(() => source.drain(signal)),
    signal,
    (e) => {
      failed = true;
      error = e;
    },
  );
  const stillRunning = safeCount(() => source.running());
  const lost = safeCount(() => source.lost?.() ?? 0);
  if (!failed && lost > 0) {
    failed = true;
    error = new Error(MESSAGES.workLost(lost, source.unit));
  }
  record({
    name: source.name,
    kind: source.kind,
    unit: source.unit,
    start,
    end: Date.now(),
    finished: safeCount(() => source.finished()),
    stillRunning,
    ...(lost > 0 ? { lost } : {}),
    outcome: failed ? 'error' : stillRunning > 0 ? 'timeout' : 'ok',
    ...(failed ? { error: messageOf(error) } : {}),
  });
}

function safeCount(count: () => number): number {
  try {
    const n = count();
    return Number.isFinite(n) ? n : 0;
  } catch {
    return 0;
  }
}
