/**
 * OpenTelemetry, when `@opentelemetry/api` is installed: one span for the
 * shutdown, one child span per source of work stopped at the drain and per hook, a histogram of hook durations and
 * counters of failures and timeouts. Without an SDK registered, the API's
 * no-op tracer and meter make this cost next to nothing.
 */
import type * as Otel from '@opentelemetry/api';
import type { GracefulEvent } from '../interfaces/graceful-event.interface.js';
import type { IntakeReport } from '../interfaces/shutdown-report.interface.js';
import type { EventSink } from './event.sink.js';

const SCOPE = 'nestjs-graceful';

/** Resolves to undefined when `@opentelemetry/api` is not installed. */
export async function loadTelemetrySink(): Promise<EventSink | undefined> {
  let api: typeof Otel;
  try {
    api = await import('@opentelemetry/api');
  } catch {
    return undefined;
  }
  return new TelemetrySink(api);
}

class TelemetrySink implements EventSink {
  private root?: Otel.Span;
  /** Open hook spans by hook name (a class provided twice has two hooks of one name). */
  private readonly spans = new Map<string, Otel.Span[]>();
  private instruments?: { duration: Otel.Histogram; failures: Otel.Counter; timeouts: Otel.Counter };

  constructor(private readonly api: typeof Otel) {}

  handle(event: GracefulEvent): void {
    switch (event.type) {
      case 'shutdown-start':
        return this.started(event.reason);
      case 'hook-start':
        return this.hookStarted(event.hook, event.order, event.final);
      case 'hook-end':
        return this.hookEnded(event);
      case 'intake-end':
        return this.intakeEnded(event.source);
      case 'shutdown-end': {
        const { report } = event;
        this.root?.setAttributes({ 'graceful.exit_code': report.exitCode, 'graceful.deadline_exceeded': report.deadlineExceeded });
        if (report.exitCode !== 0) this.root?.setStatus({ code: this.api.SpanStatusCode.ERROR, message: `exit code ${report.exitCode}` });
        this.root?.end();
        return;
      }
    }
  }

  private started(reason: string): void {
    // Looked up now, not at startup, so that an SDK registered after the module still counts.
    const meter = this.api.metrics.getMeter(SCOPE);
    this.instruments = {
      duration: meter.createHistogram('graceful.hook.duration', { unit: 'ms', description: 'Duration of @OnShutdown hooks' }),
      failures: meter.createCounter('graceful.hook.failures', { description: '@OnShutdown hooks that threw' }),
      timeouts: meter.createCounter('graceful.hook.timeouts', { description: '@OnShutdown hooks that timed out' }),
    };
    this.root = this.api.trace.getTracer(SCOPE).startSpan('graceful.shutdown', { attributes: { 'graceful.reason': reason } });
  }

  private hookStarted(hook: string, order: number, final: boolean): void {
    if (!this.root) return;
    const parent = this.api.trace.setSpan(this.api.context.active(), this.root);
    const span = this.api.trace
      .getTracer(SCOPE)
      .startSpan(hook, { attributes: { 'graceful.hook': hook, 'graceful.order': order, 'graceful.final': final } }, parent);
    this.spans.set(hook, [...(this.spans.get(hook) ?? []), span]);
  }

  /** One child span per source of work stopped at the drain, with its numbers. */
  private intakeEnded(source: IntakeReport): void {
    if (!this.root) return;
    const parent = this.api.trace.setSpan(this.api.context.active(), this.root);
    const span = this.api.trace.getTracer(SCOPE).startSpan(
      `drain ${source.name}`,
      {
        startTime: source.start,
        attributes: {
          'graceful.intake': source.name,
          'graceful.intake.kind': source.kind,
          'graceful.intake.finished': source.finished,
          'graceful.intake.still_running': source.stillRunning,
          'graceful.outcome': source.outcome,
        },
      },
      parent,
    );
    if (source.outcome !== 'ok')
      span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: source.error ?? `${source.stillRunning} ${source.unit}(s) still running` });
    span.end(source.end);
  }

  private hookEnded(event: Extract<GracefulEvent, { type: 'hook-end' }>): void {
    const span = this.spans.get(event.hook)?.shift();
    const attributes = { 'graceful.hook': event.hook, 'graceful.outcome': event.outcome };
    if (span) {
      span.setAttribute('graceful.outcome', event.outcome);
      if (event.outcome === 'error' || event.outcome === 'timeout') {
        if (event.error !== undefined) span.recordException(event.error);
        span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: event.error });
      }
      span.end();
    }
    if (event.durationMs !== undefined) this.instruments?.duration.record(event.durationMs, attributes);
    if (event.outcome === 'error') this.instruments?.failures.add(1, attributes);
    if (event.outcome === 'timeout') this.instruments?.timeouts.add(1, attributes);
  }
}
