/**
 * OpenTelemetry, when `@opentelemetry/api` is installed: one span for the
 * shutdown, one child span per hook, a histogram of hook durations and
 * counters of failures and timeouts. Without an SDK registered, the API's
 * no-op tracer and meter make this cost next to nothing.
 */
import type * as Otel from '@opentelemetry/api';
import type { HookSpec } from '../graph/stop-plan.builder.js';
import type { ShutdownReport } from '../interfaces/shutdown-report.interface.js';
import type { HookRun } from '../scheduler/stop.scheduler.js';

export interface ShutdownTelemetry {
  started(reason: string): void;
  hookStarted(hook: HookSpec): void;
  hookEnded(run: HookRun): void;
  ended(report: ShutdownReport): void;
}

const SCOPE = 'nestjs-graceful';

/** Resolves to undefined when `@opentelemetry/api` is not installed. */
export async function loadTelemetry(): Promise<ShutdownTelemetry | undefined> {
  let api: typeof Otel;
  try {
    api = await import('@opentelemetry/api');
  } catch {
    return undefined;
  }
  return new OtelShutdownTelemetry(api);
}

class OtelShutdownTelemetry implements ShutdownTelemetry {
  private root?: Otel.Span;
  private readonly spans = new Map<string, Otel.Span>();
  private instruments?: { duration: Otel.Histogram; failures: Otel.Counter; timeouts: Otel.Counter };

  constructor(private readonly api: typeof Otel) {}

  started(reason: string): void {
    // Looked up now, not at startup, so that an SDK registered after the module still counts.
    const meter = this.api.metrics.getMeter(SCOPE);
    this.instruments = {
      duration: meter.createHistogram('graceful.hook.duration', { unit: 'ms', description: 'Duration of @OnShutdown hooks' }),
      failures: meter.createCounter('graceful.hook.failures', { description: '@OnShutdown hooks that threw' }),
      timeouts: meter.createCounter('graceful.hook.timeouts', { description: '@OnShutdown hooks that timed out' }),
    };
    this.root = this.api.trace.getTracer(SCOPE).startSpan('graceful.shutdown', { attributes: { 'graceful.reason': reason } });
  }

  hookStarted(hook: HookSpec): void {
    if (!this.root) return;
    const parent = this.api.trace.setSpan(this.api.context.active(), this.root);
    const span = this.api.trace
      .getTracer(SCOPE)
      .startSpan(hook.name, { attributes: { 'graceful.hook': hook.name, 'graceful.order': hook.order, 'graceful.final': Boolean(hook.final) } }, parent);
    this.spans.set(hook.key, span);
  }

  hookEnded(run: HookRun): void {
    const span = this.spans.get(run.hook.key);
    this.spans.delete(run.hook.key);
    const attributes = { 'graceful.hook': run.hook.name, 'graceful.outcome': run.outcome };
    if (span) {
      span.setAttribute('graceful.outcome', run.outcome);
      if (run.outcome === 'error' || run.outcome === 'timeout') {
        if (run.error instanceof Error) span.recordException(run.error);
        span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: run.error instanceof Error ? run.error.message : String(run.error) });
      }
      span.end();
    }
    if (run.start !== undefined && run.end !== undefined) this.instruments?.duration.record(run.end - run.start, attributes);
    if (run.outcome === 'error') this.instruments?.failures.add(1, attributes);
    if (run.outcome === 'timeout') this.instruments?.timeouts.add(1, attributes);
  }

  ended(report: ShutdownReport): void {
    this.root?.setAttributes({ 'graceful.exit_code': report.exitCode, 'graceful.deadline_exceeded': report.deadlineExceeded });
    if (report.exitCode !== 0) this.root?.setStatus({ code: this.api.SpanStatusCode.ERROR, message: `exit code ${report.exitCode}` });
    this.root?.end();
  }
}
