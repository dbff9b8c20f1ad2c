/**
 * OpenTelemetry off the startup's path (issue 18): `@opentelemetry/api` is
 * loaded once the application has started, or when a shutdown begins first;
 * what happens while it loads is recorded once it has, at the times it happened.
 */
import 'reflect-metadata';
import * as api from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DeferredTelemetrySink, telemetryRegistered } from '../../lib/observe/telemetry.sink.js';
import type { GracefulEvent } from '../../lib/interfaces/graceful-event.interface.js';
import type { ShutdownReport } from '../../lib/interfaces/shutdown-report.interface.js';

const spans = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
beforeAll(() => api.trace.setGlobalTracerProvider(provider));
afterAll(() => api.trace.disable());
beforeEach(() => spans.reset());

/** A loader the test settles: how many times it was asked, and the hand that settles it. */
function loader() {
  let asked = 0;
  let settle!: (loaded: typeof api | Error) => void;
  const loaded = new Promise<typeof api>((resolve, reject) => (settle = (value) => (value instanceof Error ? reject(value) : resolve(value))));
  return {
    load: () => {
      asked++;
      return loaded;
    },
    get asked() {
      return asked;
    },
    settle,
  };
}

const ms = ([seconds, nanos]: api.HrTime) => seconds * 1000 + nanos / 1e6;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('DeferredTelemetrySink', () => {
  it('loads nothing while the application starts, and the API once it has started', async () => {
    const api = loader();
    const sink = new DeferredTelemetrySink(api.load);
    sink.handle({ type: 'state', state: 'starting', at: Date.now() });
    sink.handle({ type: 'state', state: 'ready', at: Date.now() });
    expect(api.asked).toBe(0);
    sink.handle({ type: 'started', at: Date.now() });
    // Not in the same turn as the start: after it.
    expect(api.asked).toBe(0);
    await nextTurn();
    expect(api.asked).toBe(1);
  });

  it('records the shutdown that began while it loaded, each span at the time its event happened', async () => {
    const api = loader();
    const sink = new DeferredTelemetrySink(api.load);
    const start = Date.now() - 5_000;
    const events: GracefulEvent[] = [
      { type: 'shutdown-start', reason: 'SIGTERM', deadline: start + 9_000, at: start },
      { type: 'hook-start', hook: 'Db.close', order: 0, final: false, at: start + 100 },
      { type: 'hook-end', hook: 'Db.close', order: 0, final: false, outcome: 'ok', durationMs: 200, at: start + 300 },
      { type: 'shutdown-end', report: { exitCode: 0, deadlineExceeded: false } as ShutdownReport, at: start + 400 },
    ];
    for (const event of events) sink.handle(event);
    expect(api.asked).toBe(1);
    expect(spans.getFinishedSpans()).toHaveLength(0);
    api.settle(await import('@opentelemetry/api'));
    await sink.load();
    const finished = spans.getFinishedSpans();
    const root = finished.find((span) => span.name === 'graceful.shutdown')!;
    const hook = finished.find((span) => span.name === 'Db.close')!;
    expect(hook.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect([ms(root.startTime), ms(hook.startTime), ms(hook.endTime), ms(root.endTime)].map(Math.round)).toEqual([
      start,
      start + 100,
      start + 300,
      start + 400,
    ]);
    // From then on, straight through.
    sink.handle({ type: 'shutdown-start', reason: 'SIGINT', deadline: Date.now() + 1_000, at: Date.now() });
    sink.handle({ type: 'shutdown-end', report: { exitCode: 0, deadlineExceeded: false } as ShutdownReport, at: Date.now() });
    expect(spans.getFinishedSpans().filter((span) => span.name === 'graceful.shutdown')).toHaveLength(2);
  });

  it('loads nothing while no SDK has registered a provider, at the start or at a shutdown; a shutdown that begins once one has loads it and is recorded', async () => {
    api.trace.disable();
    try {
      expect(telemetryRegistered()).toBe(false);
      const otel = loader();
      const sink = new DeferredTelemetrySink(otel.load);
      sink.handle({ type: 'started', at: Date.now() });
      await nextTurn();
      const shutdown = (at: number): GracefulEvent[] => [
        { type: 'shutdown-start', reason: 'SIGTERM', deadline: at + 9_000, at },
        { type: 'hook-start', hook: 'Db.close', order: 0, final: false, at: at + 1 },
        { type: 'hook-end', hook: 'Db.close', order: 0, final: false, outcome: 'ok', durationMs: 1, at: at + 2 },
        { type: 'shutdown-end', report: { exitCode: 0, deadlineExceeded: false } as ShutdownReport, at: at + 3 },
      ];
      for (const event of shutdown(Date.now())) sink.handle(event);
      expect(otel.asked).toBe(0);
      // An SDK registered late: the next shutdown looks again as it begins.
      api.trace.setGlobalTracerProvider(provider);
      expect(telemetryRegistered()).toBe(true);
      for (const event of shutdown(Date.now())) sink.handle(event);
      expect(otel.asked).toBe(1);
      otel.settle(await import('@opentelemetry/api'));
      await sink.load();
      expect(spans.getFinishedSpans().map((span) => span.name)).toEqual(['Db.close', 'graceful.shutdown']);
    } finally {
      if (!telemetryRegistered()) api.trace.setGlobalTracerProvider(provider);
    }
  });

  it('without the package installed, does nothing and keeps nothing', async () => {
    const api = loader();
    const sink = new DeferredTelemetrySink(api.load);
    sink.handle({ type: 'shutdown-start', reason: 'SIGTERM', deadline: Date.now() + 1_000, at: Date.now() });
    api.settle(new Error("Cannot find module '@opentelemetry/api'"));
    await sink.load();
    sink.handle({ type: 'shutdown-end', report: { exitCode: 0, deadlineExceeded: false } as ShutdownReport, at: Date.now() });
    expect(api.asked).toBe(1);
    expect(spans.getFinishedSpans()).toHaveLength(0);
  });
});
