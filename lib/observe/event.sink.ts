import type { GracefulEvent } from '../interfaces/graceful-event.interface.js';

/** An observer of the shutdown's one event stream: the log, the report file, telemetry. */
export interface EventSink {
  handle(event: GracefulEvent): void;
}
