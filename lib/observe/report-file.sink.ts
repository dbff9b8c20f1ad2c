import { writeFileSync } from 'node:fs';
import type { GracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { GracefulEvent } from '../interfaces/graceful-event.interface.js';
import { stackOf } from '../report/shutdown-report.builder.js';
import type { EventSink } from './event.sink.js';

/** Writes each shutdown's report to `reportFile` as JSON, synchronously, before the process exits. */
export class ReportFileSink implements EventSink {
  constructor(
    private readonly path: string,
    private readonly logger: GracefulLogger,
  ) {}

  handle(event: GracefulEvent): void {
    if (event.type !== 'shutdown-end') return;
    try {
      writeFileSync(this.path, `${JSON.stringify(event.report, null, 2)}\n`);
    } catch (error) {
      this.logger.error(MESSAGES.reportFileFailed(this.path), stackOf(error));
    }
  }
}
