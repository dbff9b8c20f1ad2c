import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { GRACEFUL_MODULE_OPTIONS } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import { LifecycleRecord } from '../lifecycle/lifecycle.record.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { stackOf } from '../report/shutdown-report.builder.js';
import type { EventSink } from './event.sink.js';
import { LogSink } from './log.sink.js';
import { ReportFileSink } from './report-file.sink.js';
import { DeferredTelemetrySink } from './telemetry.sink.js';

/**
 * Subscribes the module's own sinks (the log, the report file, OpenTelemetry)
 * to the one event stream that `events$` also hands to users. A sink that
 * throws is reported and skipped: it cannot stall the shutdown or keep the
 * process from exiting.
 */
@Injectable()
export class ShutdownObservers implements OnModuleInit {
  constructor(
    @Inject(GRACEFUL_MODULE_OPTIONS) options: ResolvedGracefulOptions,
    private readonly record: LifecycleRecord,
  ) {
    // From construction on, so that a shutdown during the bootstrap is logged too.
    const logger = createGracefulLogger(options.logger, 'GracefulShutdown');
    this.subscribe(new LogSink(logger));
    if (options.reportFile) this.subscribe(new ReportFileSink(options.reportFile, logger));
  }

  /** OpenTelemetry: subscribed now, its API loaded once the application has started (nothing awaited at init for the shutdown). */
  onModuleInit(): void {
    this.subscribe(new DeferredTelemetrySink());
  }

  private subscribe(sink: EventSink): void {
    this.record.onEvent((event) => {
      try {
        sink.handle(event);
      } catch (error) {
        process.stderr.write(`${MESSAGES.internalError()}\n${stackOf(error) ?? String(error)}\n`);
      }
    });
  }
}
