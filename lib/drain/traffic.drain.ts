import { setMaxListeners } from 'node:events';
import type { GracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { DrainReport, IntakeReport } from '../interfaces/shutdown-report.interface.js';
import type { IntakeSource } from '../intake/intake.source.js';
import { messageOf } from '../report/shutdown-report.builder.js';
import { untilAborted } from '../shutdown/abortable-delay.js';
import type { HttpDrain } from './http.drain.js';
import type { WorkTracker } from './work.tracker.js';

export interface DrainOutcome {
  drain: DrainReport;
  /** One row per source, in the order they ended. */
  intake: IntakeReport[];
}

/**
 * The drain stage: every source of work (HTTP, the integrations' sources,
 * `@OnDrain()` methods, tracked work) stops taking work and waits for what it
 * took, all at once, for at most `timeoutMs` or until `abort` fires. Says
 * what each did. Never rejects.
 */
export async function drainIntake(
  http: HttpDrain | undefined,
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
  if (!http) logger.log(MESSAGES.drainSources(sources.length, timeoutMs));

  const tracked: IntakeSource = {
    name: 'track()',
    kind: 'tracked',
    unit: 'task',
    drain: (signal) => work.settled(signal),
    finished: () => work.finished,
    running: () => work.size,
  };
  const all = work.used ? [...sources, tracked] : sources;
  const [drain] = await Promise.all([
    http ? drainHttp(http, ended.signal, timeoutMs, logger, record) : undefined,
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
  return {
    drain: drain
      ? { ...drain, trackedWorkCut: stillRunning }
      : {
          inFlightAtStart: 0,
          requestsCompleted: 0,
          idleConnectionsClosed: 0,
          requestsCut: 0,
          trackedWorkCut: stillRunning,
          durationMs: Date.now() - startedAt,
        },
    intake,
  };
}

async function drainHttp(http: HttpDrain, signal: AbortSignal, timeoutMs: number, logger: GracefulLogger, record: (row: IntakeReport) => void) {
  const start = Date.now();
  const report = await http.drain(signal, (inFlight) => logger.log(MESSAGES.drainStarted(inFlight, timeoutMs)));
  if (report.requestsCut > 0) logger.warn(MESSAGES.drainCut(report.requestsCut, timeoutMs));
  else logger.log(MESSAGES.drained(report.requestsCompleted, report.idleConnectionsClosed, report.durationMs));
  record({
    name: 'HTTP',
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
