import 'reflect-metadata';
import { Global, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { GracefulLifecycleService, GracefulModule, OnDrain, OnShutdown, type GracefulEvent, type GracefulModuleOptions } from 'nestjs-graceful';
import { endedBefore, runShutdown, stopOrder } from 'nestjs-graceful/testing';

@Injectable()
class Db {
  @OnShutdown({ timeout: 200 })
  close() {}
}

@Global()
@Module({ providers: [Db], exports: [Db] })
class DbModule {}

@Injectable()
class Cache {
  constructor(readonly db: Db) {}
  @OnShutdown({ timeout: 200 })
  flush() {}
}

@Injectable()
class Users {
  constructor(readonly cache: Cache) {}
  @OnShutdown({ timeout: 100 })
  stop() {}
}

/** The application's own consumer, stopped at the drain. */
@Injectable()
class Inbox {
  stopped = false;
  @OnDrain()
  stop() {
    this.stopped = true;
  }
}

@Injectable()
class Audit {
  @OnShutdown({ final: true })
  flush() {}
}

@Module({ providers: [Cache, Users, Audit, Inbox] })
class UsersModule {}

async function app(options: Partial<GracefulModuleOptions> = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [GracefulModule.forRoot({ signals: [], handleFatalErrors: false, logger: false, ...options }), DbModule, UsersModule],
  }).compile();
  return moduleRef.init();
}

class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

describe('nestjs-graceful/testing', () => {
  it('runs the full shutdown in a test, with injected faults, and returns the report', async () => {
    const moduleRef = await app();
    const report = await runShutdown(moduleRef, {
      faults: { 'Users.stop': { hang: true }, 'Cache.flush': { throws: 'disk full' }, 'Db.close': { delayMs: 20 } },
    });
    expect(report.exitCode).toBe(1);
    expect(report.hooks.map((h) => [h.name, h.outcome, h.error])).toEqual([
      ['Users.stop', 'timeout', 'Users.stop exceeded its timeout of 100 ms'],
      ['Cache.flush', 'error', 'disk full'],
      ['Db.close', 'ok', undefined],
      ['Audit.flush', 'ok', undefined],
    ]);
    expect(stopOrder(report)).toEqual(['Users.stop', 'Cache.flush', 'Db.close', 'Audit.flush']);
    expect(moduleRef.get(Inbox).stopped).toBe(true);
    expect(report.intake).toMatchObject([{ name: 'Inbox.stop (@OnDrain)', kind: 'on-drain', outcome: 'ok', finished: 1, stillRunning: 0 }]);
    expect(endedBefore(report, 'Users.stop', 'Cache.flush')).toBe(true);
    expect(moduleRef.get(GracefulLifecycleService).state).toBe('stopped');
  });
});

describe('nestjs-graceful/testing on a detected platform', () => {
  // A delay of a minute: were it waited, the test would time out.
  const kubernetes = { platform: 'kubernetes', readinessDelayMs: 60000, shutdownTimeoutMs: 120000 } as const;

  it('runs the shutdown with no readiness delay by default, with the reason SIGTERM', async () => {
    const report = await runShutdown(await app(kubernetes));
    expect(report.reason).toBe('SIGTERM');
    expect(report.readinessDelay).toBeUndefined();
    expect(stopOrder(report)).toEqual(['Users.stop', 'Cache.flush', 'Db.close', 'Audit.flush']);
  });

  it('waits the readiness delay when asked', async () => {
    const report = await runShutdown(await app({ ...kubernetes, readinessDelayMs: 50, readinessMinDelayMs: 50 }), { readinessDelay: true });
    expect(report.readinessDelay).toMatchObject({ boundMs: 50 });
    expect(stopOrder(report)).toEqual(['Users.stop', 'Cache.flush', 'Db.close', 'Audit.flush']);
  });
});

describe('events$', () => {
  it("reports state changes, each source of work stopped at the drain, and each hook's start, end, error and timeout", async () => {
    const moduleRef = await app();
    const events: GracefulEvent[] = [];
    moduleRef.get(GracefulLifecycleService).events$.subscribe((event) => events.push(event));
    await runShutdown(moduleRef, { faults: { 'Users.stop': { hang: true }, 'Cache.flush': { throws: 'disk full' } } });
    const name = (e: GracefulEvent) =>
      e.type === 'state' ? `state:${e.state}` : 'hook' in e ? `${e.type}:${e.hook}` : e.type === 'intake-end' ? `intake-end:${e.source.name}` : e.type;
    expect(events.map(name)).toEqual([
      'shutdown-start',
      'state:draining',
      'intake-end:Inbox.stop (@OnDrain)',
      'state:stopping',
      'hook-start:Users.stop',
      'hook-timeout:Users.stop',
      'hook-end:Users.stop',
      'hook-start:Cache.flush',
      'hook-error:Cache.flush',
      'hook-end:Cache.flush',
      'hook-start:Db.close',
      'hook-end:Db.close',
      'hook-start:Audit.flush',
      'hook-end:Audit.flush',
      'shutdown-end',
      'state:stopped',
    ]);
  });
});

describe('OpenTelemetry', () => {
  const spans = new InMemorySpanExporter();
  const reader = new CollectingReader();
  beforeAll(() => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  });
  afterAll(() => {
    trace.disable();
    metrics.disable();
  });

  it('records a span per hook under one shutdown span, a duration histogram and failure and timeout counters', async () => {
    const moduleRef = await app();
    await runShutdown(moduleRef, { faults: { 'Users.stop': { hang: true }, 'Cache.flush': { throws: 'disk full' } } });
    const finished = spans.getFinishedSpans();
    const root = finished.find((span) => span.name === 'graceful.shutdown')!;
    expect(root.attributes).toMatchObject({ 'graceful.reason': 'SIGTERM', 'graceful.exit_code': 1 });
    const children = finished.filter((span) => span.parentSpanContext?.spanId === root.spanContext().spanId);
    expect(children.map((span) => [span.name, span.attributes['graceful.outcome'], span.status.code]).sort()).toEqual([
      ['Audit.flush', 'ok', 0],
      ['Cache.flush', 'error', 2],
      ['Db.close', 'ok', 0],
      ['Users.stop', 'timeout', 2],
      ['drain Inbox.stop (@OnDrain)', 'ok', 0],
    ]);
    const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
    const byName = new Map(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric]));
    const points = (name: string) => byName.get(name)!.dataPoints as Array<{ value: unknown; attributes: Record<string, unknown> }>;
    expect(
      points('graceful.hook.duration')
        .map((p) => p.attributes['graceful.hook'])
        .sort(),
    ).toEqual(['Audit.flush', 'Cache.flush', 'Db.close', 'Users.stop']);
    expect(points('graceful.hook.failures').map((p) => [p.attributes['graceful.hook'], p.value])).toEqual([['Cache.flush', 1]]);
    expect(points('graceful.hook.timeouts').map((p) => [p.attributes['graceful.hook'], p.value])).toEqual([['Users.stop', 1]]);
  });
});
