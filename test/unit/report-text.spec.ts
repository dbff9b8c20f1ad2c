import { buildStopPlan } from '../../lib/graph/stop-plan.rules.js';
import type { ProviderGraph } from '../../lib/graph/stop-plan.types.js';
import type { ShutdownReport } from '../../lib/interfaces/shutdown-report.interface.js';
import { formatPlan } from '../../lib/report/plan.formatter.js';
import { formatTimeline } from '../../lib/report/timeline.formatter.js';

const hook = (name: string, timeoutMs: number, order = 0, final = false) => ({ key: name, name, order, timeoutMs, final });

const graph: ProviderGraph = {
  nodes: [
    { id: 'db', name: 'DatabaseService', hooks: [hook('DatabaseService.close', 3000)] },
    { id: 'orders', name: 'OrdersService', hooks: [hook('OrdersService.flushOutbox', 2000)] },
    { id: 'metrics', name: 'MetricsService', hooks: [hook('MetricsService.push', 10000)] },
    { id: 'cache', name: 'CacheService', hooks: [hook('CacheService.flush', 500), hook('CacheService.disconnect', 500)] },
    { id: 'mailer', name: 'MailerService', hooks: [hook('MailerService.drainQueue', 5000, 1)] },
    { id: 'audit', name: 'AuditLog', hooks: [hook('AuditLog.flush', 800, 0, true)] },
  ],
  edges: [
    { dependent: 'orders', dependency: 'db' },
    { dependent: 'cache', dependency: 'db' },
    { dependent: 'orders', dependency: 'cache' },
    { dependent: 'audit', dependency: 'db' },
  ],
};

describe('the text a person reads', () => {
  it('the stop plan: phases, waves, timeouts, what each waits for, and the budget', () => {
    const plan = buildStopPlan({ ...graph, nodes: graph.nodes.map((n) => ({ ...n, hooks: n.hooks.filter((h) => !h.final) })) });
    const finalPlan = buildStopPlan({ ...graph, nodes: graph.nodes.map((n) => ({ ...n, hooks: n.hooks.filter((h) => h.final) })) });
    expect(formatPlan(plan, finalPlan, { shutdownTimeoutMs: 25000, readinessDelayMs: 5000, drainTimeoutMs: 10000, finalTimeoutMs: 1000 })).toMatchSnapshot();
  });

  it('the timeline: each stage and hook as a bar on one time axis', () => {
    const t0 = 1_700_000_000_000;
    const report: ShutdownReport = {
      reason: 'SIGTERM',
      startedAt: t0,
      endedAt: t0 + 5400,
      durationMs: 5400,
      readinessDelayMs: 5000,
      drain: { inFlightAtStart: 3, requestsCompleted: 3, idleConnectionsClosed: 12, requestsCut: 0, cutRequests: [], trackedWorkCut: 0, durationMs: 120 },
      intake: [
        { name: 'HTTP', kind: 'http', unit: 'request', start: t0 + 5000, end: t0 + 5040, finished: 3, stillRunning: 0, outcome: 'ok' },
        { name: 'SSE streams', kind: 'sse', unit: 'stream', start: t0 + 5000, end: t0 + 5010, finished: 2, stillRunning: 0, outcome: 'ok' },
        { name: 'Redis microservice', kind: 'microservice', unit: 'message', start: t0 + 5000, end: t0 + 5080, finished: 7, stillRunning: 0, outcome: 'ok' },
        {
          name: 'BullMQ worker "mail" (MailProcessor)',
          kind: 'queue',
          unit: 'job',
          start: t0 + 5000,
          end: t0 + 5120,
          finished: 4,
          stillRunning: 1,
          outcome: 'timeout',
        },
      ],
      stages: [
        { name: 'readiness delay', start: t0, end: t0 + 5000 },
        { name: 'drain', start: t0 + 5000, end: t0 + 5120 },
        { name: 'hooks', start: t0 + 5120, end: t0 + 5380 },
        { name: "Nest's hooks", start: t0 + 5380, end: t0 + 5390 },
        { name: 'final hooks', start: t0 + 5390, end: t0 + 5400 },
      ],
      hooks: [
        { name: 'OrdersService.flushOutbox', order: 0, start: t0 + 5120, end: t0 + 5270, durationMs: 150, outcome: 'ok' },
        { name: 'MetricsService.push', order: 0, start: t0 + 5120, end: t0 + 5220, durationMs: 100, outcome: 'error', error: 'push gateway unreachable' },
        {
          name: 'DatabaseService.close',
          order: 0,
          start: t0 + 5270,
          end: t0 + 5380,
          durationMs: 110,
          outcome: 'timeout',
          error: 'DatabaseService.close exceeded its timeout of 110 ms',
        },
        { name: 'MailerService.drainQueue', order: 1, outcome: 'skipped' },
        { name: 'AuditLog.flush', order: 0, final: true, start: t0 + 5390, end: t0 + 5400, durationMs: 10, outcome: 'ok' },
      ],
      deadlineExceeded: false,
      exitCode: 1,
    };
    expect(formatTimeline(report)).toMatchSnapshot();
  });
});
