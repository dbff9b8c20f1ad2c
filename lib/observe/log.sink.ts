import type { GracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { GracefulEvent } from '../interfaces/graceful-event.interface.js';
import { formatTimeline, intakeNote } from '../report/timeline.formatter.js';
import type { EventSink } from './event.sink.js';

/** The shutdown in the log: each hook's end, and the timeline and summary at the end. */
export class LogSink implements EventSink {
  constructor(private readonly logger: GracefulLogger) {}

  handle(event: GracefulEvent): void {
    switch (event.type) {
      case 'shutdown-start':
        this.logger.log(MESSAGES.shutdownStarted(event.reason, event.deadline - event.at));
        break;
      case 'hook-start':
        this.logger.debug(`${event.hook} started`);
        break;
      case 'hook-error':
        this.logger.error(MESSAGES.hookFailed(event.hook), event.stack);
        break;
      case 'hook-timeout':
        this.logger.warn(event.cutByDeadline ? MESSAGES.hookCutByDeadline(event.hook) : MESSAGES.hookTimedOut(event.hook, event.timeoutMs));
        break;
      case 'hook-end':
        if (event.outcome === 'ok') this.logger.log(`${event.hook} stopped${event.durationMs === undefined ? '' : ` (${event.durationMs} ms)`}`);
        break;
      case 'intake-end': {
        const { source } = event;
        // HTTP has its own lines; a source not stopped in time is warned about by the drain.
        if (source.kind !== 'http' && source.outcome === 'ok') {
          this.logger.log(MESSAGES.intakeStopped(source.name, intakeNote(source), source.end - source.start));
        }
        break;
      }
      case 'process-exit-call':
        this.logger.warn(MESSAGES.exitCalled(event.code, event.caller));
        break;
      case 'shutdown-end': {
        const { report } = event;
        const count = (outcome: string) => report.hooks.filter((hook) => hook.outcome === outcome).length;
        this.logger.log(formatTimeline(report));
        const sources = {
          stopped: report.intake.filter((source) => source.outcome === 'ok').length,
          notStopped: report.intake.filter((source) => source.outcome !== 'ok').length,
        };
        this.logger.log(
          MESSAGES.summary(report.reason, report.durationMs, sources, count('ok'), count('error'), count('timeout'), count('skipped'), report.exitCode),
        );
        break;
      }
    }
  }
}
