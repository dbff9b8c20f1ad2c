import type { GracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { DrainReport } from '../interfaces/shutdown-report.interface.js';
import { abortableDelay } from '../shutdown/abortable-delay.js';
import type { HttpDrain } from './http.drain.js';
import type { WorkTracker } from './work.tracker.js';

/**
 * The drain stage: stop taking traffic and wait for what was taken (HTTP
 * requests when there is a server, and tracked work), at most `timeoutMs`
 * or until `abort` fires. Says what it did.
 */
export async function drainTraffic(
  http: HttpDrain | undefined,
  work: WorkTracker,
  timeoutMs: number,
  abort: AbortSignal,
  logger: GracefulLogger,
): Promise<DrainReport> {
  let report: DrainReport;
  if (http) {
    report = await http.drain(
      timeoutMs,
      () => work.settled(),
      () => work.size,
      abort,
      (inFlight) => logger.log(MESSAGES.drainStarted(inFlight, timeoutMs)),
    );
  } else {
    const startedAt = Date.now();
    const settled = new AbortController();
    await Promise.race([work.settled().then(() => settled.abort()), abortableDelay(timeoutMs, abort, settled.signal)]);
    settled.abort();
    report = {
      inFlightAtStart: 0,
      requestsCompleted: 0,
      idleConnectionsClosed: 0,
      requestsCut: 0,
      trackedWorkCut: work.size,
      durationMs: Date.now() - startedAt,
    };
  }
  if (report.requestsCut > 0 || report.trackedWorkCut > 0) {
    logger.warn(MESSAGES.drainCut(report.requestsCut, report.trackedWorkCut, timeoutMs));
  } else {
    logger.log(MESSAGES.drained(report.requestsCompleted, report.idleConnectionsClosed, report.durationMs));
  }
  return report;
}
