/**
 * OpenTelemetry, when `@opentelemetry/api` is installed: one span for the
 * shutdown, one child span per source of work stopped at the drain and per hook, a histogram of hook durations and
 * counters of failures and timeouts. Without an SDK registered, the API is
 * not even loaded.
 */
import type * as Otel from '@opentelemetry/api';
import type { GracefulEvent } from '../interfaces/graceful-event.interface.js';
import type { IntakeReport } from '../interfaces/shutdown-report.interface.js';
import type { EventSink } from './event.sink.js';

const SCOPE = 'nestjs-graceful';

/** The events the telemetry records: from the shutdown's start on. */
const RECORDED = new Set<GracefulEvent['type']>(['shutdown-start', 'hook-start', 'hook-end', 'intake-end', 'shutdown-end']);

/**
 * Where `@opentelemetry/api` 1.x keeps what an SDK registered (its
 * `registerGlobal`: `globalThis[Symbol.for('opentelemetry.js.api.1')]`,
 * shared by every copy of the API in the process).
 */
const OTEL_GLOBALS = Symbol.for('opentelemetry.js.api.1');

/**
 * Whether an SDK has registered a tracer or meter provider. Without one the
 * API hands out no-op tracers and meters, so there is nothing to record and
 * nothing to load.
 */
export function telemetryRegistered(): boolean {
  const registered = (globalThis as Record<symbol, { trace?: unknown; metrics?: unknown } | undefined>)[OTEL_GLOBALS];
  return Boolean(registered?.trace || registered?.metrics);
}

/**
 * The OpenTelemetry sink, loaded off the startup's path and only when there
 * is something to record: `@opentelemetry/api` is imported once the
 * application has started (or when a shutdown begins first) if an SDK has
 * registered a tracer or meter provider by then, and otherwise not at all
 * (about 320 KB of heap saved); each shutdown looks again as it begins (an
 * SDK may be registered late). It is never awaited at init. Events that come
 * while it loads are kept and recorded once it has, at the times they
 * happened. Without the package installed, it does nothing.
 */
export class DeferredTelemetrySink implements EventSink {
  private sink?: TelemetrySink;
  /** Undefined once loaded, or found missing. */
  private waiting: GracefulEvent[] | undefined = [];
  /** The shutdown under way began with an SDK registered: its events are recorded. */
  private recording = false;
  private loading?: Promise<void>;

  constructor(
    private readonly api: () => Promise<typeof Otel> = () => import('@opentelemetry/api'),
    private readonly registered: () => boolean = telemetryRegistered,
  ) {}

  handle(event: GracefulEvent): void {
    if (this.sink) return this.sink.handle(event, false);
    if (!this.waiting) return;
    if (event.type === 'started') {
      if (this.registered()) setImmediate(() => void this.load()).unref();
      return;
    }
    if (event.type === 'shutdown-start') this.recording = this.registered();
    if (!this.recording || !RECORDED.has(event.type)) return;
    this.waiting.push(event);
    void this.load();
  }

  /** Settles once the package is loaded (or found missing) and what waited is recorded. */
  load(): Promise<void> {
    return (this.loading ??= this.api().then(
      (api) => {
        const sink = new TelemetrySink(api);
        const waiting = this.waiting ?? [];
        this.waiting = undefined;
        for (const event of waiting) sink.handle(event, true);
        this.sink = sink;
      },
      () => {
        this.waiting = undefined;
      },
    ));
  }
}

class TelemetrySink {
  private root?: Otel.Span;
  /** Open hook spans by hook name (a class provided twice has two hooks of one name). */
  private readonly spans = new Map<string, Otel.Span[]>();
  private instruments?: { duration: Otel.Histogram; failures: Otel.Counter; timeouts: Otel.Counter };

  constructor(private readonly api: typeof Otel) {}

  /** `late`: the event happened while the API was loading; its spans take the event's time. */
  handle(event: GracefulEvent, late: boolean): void {
    const at = late ? event.at : undefined;
    switch (event.type) {
      case 'shutdown-start':
        return this.started(event.reason, at);
      case 'hook-start':
        return this.hookStarted(event.hook, event.order, event.final, at);
      case 'hook-end':
        return this.hookEnded(event, at);
      case 'intake-end':
        return this.intakeEnded(event.source);
      case 'shutdown-end': {
        const { report } = event;
        this.root?.setAttributes({ 'graceful.exit_code': report.exitCode, 'graceful.deadline_exceeded': report.deadlineExceeded });
        if (report.exitCode !== 0) this.root?.setStatus({ code: this.api.SpanStatusCode.ERROR, message: `exit code ${report.exitCode}` });
        this.root?.end(at);
        return;
      }
    }
  }

  private started(reason: string, at: number | undefined): void {
    // Looked up now, not at startup, so that an SDK registered after the module still counts.
    const meter = this.api.metrics.getMeter(SCOPE);
    this.instruments = {
      duration: meter.createHistogram('graceful.hook.duration', { unit: 'ms', description: 'Duration of @OnShutdown hooks' }),
      failures: meter.createCounter('graceful.hook.failures', { description: '@OnShutdown hooks that threw' }),
      timeouts: meter.createCounter('graceful.hook.timeouts', { description: '@OnShutdown hooks that timed out' }),
    };
    this.root = this.api.trace.getTracer(SCOPE).startSpan('graceful.shutdown', { startTime: at, attributes: { 'graceful.reason': reason } });
  }

  private hookStarted(hook: string, order: number, final: boolean, at: number | undefined): void {
    if (!this.root) return;
    const parent = this.api.trace.setSpan(this.api.context.active(), this.root);
    const span = this.api.trace
      .getTracer(SCOPE)
      .startSpan(hook, { startTime: at, attributes: { 'graceful.hook': hook, 'graceful.order': order, 'graceful.final': final } }, parent);
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

  private hookEnded(event: Extract<GracefulEvent, { type: 'hook-end' }>, at: number | undefined): void {
    const span = this.spans.get(event.hook)?.shift();
    const attributes = { 'graceful.hook': event.hook, 'graceful.outcome': event.outcome };
    if (span) {
      span.setAttribute('graceful.outcome', event.outcome);
      if (event.outcome === 'error' || event.outcome === 'timeout') {
        if (event.error !== undefined) span.recordException(event.error);
        span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: event.error });
      }
      span.end(at);
    }
    if (event.durationMs !== undefined) this.instruments?.duration.record(event.durationMs, attributes);
    if (event.outcome === 'error') this.instruments?.failures.add(1, attributes);
    if (event.outcome === 'timeout') this.instruments?.timeouts.add(1, attributes);
  }
}
