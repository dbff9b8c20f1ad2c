import { join } from 'node:path';
import type { CutRequest, ShutdownReport } from '../../lib/interfaces/shutdown-report.interface.js';
import { appProcesses, type AppProcess } from '../support/app-process.js';
import { Balancer } from '../support/balancer.js';
import { get } from '../support/http.js';
import { Load } from '../support/load.js';

const apps = appProcesses();

/** The fixture on Nest 12 (ESM) and as the CommonJS app on Nest 11 (test/nest11). */
const FIXTURES: Array<[string, string]> = [
  ['Nest 12', 'servers.app.js'],
  ['Nest 11', join(process.cwd(), 'test', 'nest11', '.build', 'fixtures', 'servers.app.js')],
];

/** The fixture: Nest's multiple-servers recipe (two servers from one Express app, no listen()) and a metrics server handed to drainServer(). */
async function start(fixture: string, graceful: object): Promise<{ app: AppProcess; first: number; second: number; metrics: number }> {
  const app = apps.start(fixture, { GRACEFUL_OPTIONS: JSON.stringify(graceful) });
  const listening = await app.event('listening');
  return { app, first: Number(listening.port), second: Number(listening.second), metrics: Number(listening.metrics) };
}

function reportOf(app: AppProcess): ShutdownReport {
  return app.events.find((event) => event.type === 'report')!.report as ShutdownReport;
}

describe.each(FIXTURES)("every HTTP server of the app (Nest's multiple-servers recipe) on %s", (_nest, fixture) => {
  it('readiness goes up without listen(); under load through both servers, SIGTERM drains both: the requests in flight on each finish before the hooks, 0 failed, exit 0', async () => {
    const graceful = { readinessDelayMs: 3000, drainTimeoutMs: 60000 };
    const [one, two] = await Promise.all([start(fixture, graceful), start(fixture, graceful)]);
    // Readiness answers 200 through either server of the recipe.
    expect((await get(one.first, '/health/ready')).status).toBe(200);
    expect((await get(one.second, '/health/ready')).status).toBe(200);
    // One balancer per server, each with both instances behind it, as a Service per port would be.
    const balancers = [new Balancer(100), new Balancer(100)];
    const loads: Load[] = [];
    try {
      const ports = await Promise.all(balancers.map((balancer) => balancer.start()));
      balancers[0].add(one.first);
      balancers[0].add(two.first);
      balancers[1].add(one.second);
      balancers[1].add(two.second);
      await Promise.all([
        balancers[0].seen(one.first, true),
        balancers[0].seen(two.first, true),
        balancers[1].seen(one.second, true),
        balancers[1].seen(two.second, true),
      ]);
      loads.push(new Load(ports[0], 8, '/ping'), new Load(ports[1], 8, '/ping'));
      loads.forEach((load) => load.start());
      await Promise.all(loads.map((load) => load.succeeded(200)));

      // A request in flight on each server of the instance that stops, across the signal.
      const held = [get(one.first, '/hold'), get(one.second, '/hold')];
      await one.app.until(() => one.app.events.filter((event) => event.type === 'held').length === 2, 'two held requests');
      one.app.signal('SIGTERM');
      await one.app.printed(`Stopped accepting connections on HTTP :${one.first}`);
      await one.app.printed(`Stopped accepting connections on HTTP :${one.second}`);
      one.app.send('release');
      for (const response of await Promise.all(held)) {
        expect(response.status).toBe(200);
        expect(response.headers.connection).toBe('close');
      }
      expect(await one.app.exited).toEqual({ code: 0, signal: null });
      // The other instance takes the traffic of both servers.
      await Promise.all(loads.map((load) => load.succeeded(200)));
      const stats = await Promise.all(loads.map((load) => load.stop()));
      for (const stat of stats) {
        expect(stat.failures).toEqual({});
        expect(stat.failed).toBe(0);
      }
    } finally {
      await Promise.all(loads.map((load) => load.stop()));
      await Promise.all(balancers.map((balancer) => balancer.stop()));
    }

    const timeline = one.app.timeline;
    expect(timeline.filter((entry) => entry === 'hold-answered')).toHaveLength(2);
    expect(timeline.lastIndexOf('hold-answered')).toBeLessThan(timeline.indexOf('hook-start:Resource.close'));
    expect(one.app.events.filter((event) => event.type === 'state').map((event) => event.state)).toEqual([
      'starting',
      'ready',
      'draining',
      'stopping',
      'stopped',
    ]);
    const report = reportOf(one.app);
    const http = report.intake.filter((row) => row.kind === 'http');
    expect(http.map((row) => row.name).sort()).toEqual([`HTTP :${one.first}`, `HTTP :${one.second}`, 'metrics'].sort());
    expect(http.every((row) => row.outcome === 'ok')).toBe(true);
    expect(report.drain).toMatchObject({ requestsCut: 0, cutRequests: [] });
    expect(report.drain!.requestsCompleted).toBeGreaterThanOrEqual(2);
    expect(report.exitCode).toBe(0);
    two.app.signal('SIGTERM');
    expect(await two.app.exited).toEqual({ code: 0, signal: null });
  });

  it('a request cut at drainTimeoutMs is named (method, path, how long it ran) in the log, the timeline and the report; exit 1', async () => {
    const { app, second } = await start(fixture, { readinessDelayMs: 0, drainTimeoutMs: 300 });
    const held = get(second, '/hold?token=secret');
    await app.event('held');
    app.signal('SIGTERM');
    await expect(held).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|socket hang up/) });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toMatch(
      new RegExp(`Drain timeout \\(300 ms\\) passed: cut 1 request\\(s\\) in flight on HTTP :${second}\\. Cut: GET /hold \\(ran \\d+ ms\\)\\.`),
    );
    expect(app.output).toMatch(new RegExp(`HTTP :${second} .*cut: GET /hold \\(ran \\d+ ms\\)`));
    // The query string may carry secrets: never printed.
    expect(app.output).not.toContain('secret');
    const report = reportOf(app);
    expect(report.exitCode).toBe(1);
    expect(report.drain!.requestsCut).toBe(1);
    expect(report.drain!.cutRequests).toEqual<CutRequest[]>([
      { server: `HTTP :${second}`, method: 'GET', path: '/hold', runningMs: expect.any(Number) as number },
    ]);
    // Cut at the drain's timeout, so it ran at least that long.
    expect(report.drain!.cutRequests[0].runningMs).toBeGreaterThanOrEqual(300);
    expect(report.intake.find((row) => row.name === `HTTP :${second}`)).toMatchObject({ outcome: 'timeout', stillRunning: 1 });
  });
});

describe('a server beside Nest, and long requests (Nest 12)', () => {
  const fixture = FIXTURES[0][1];
  it('a server handed to drainServer() stops accepting at the drain and finishes the request in flight, with its own row', async () => {
    const { app, metrics } = await start(fixture, { readinessDelayMs: 0, drainTimeoutMs: 60000 });
    expect((await get(metrics, '/metrics')).body).toBe('requests_total 1\n');
    const held = get(metrics, '/hold');
    await app.event('metrics-held');
    app.signal('SIGTERM');
    await app.printed('Stopped accepting connections on metrics; 1 request(s) in flight');
    await expect(get(metrics, '/metrics')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    app.send('release');
    const response = await held;
    expect(response).toMatchObject({ status: 200, body: 'metrics held' });
    expect(response.headers.connection).toBe('close');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(reportOf(app).intake.find((row) => row.name === 'metrics')).toMatchObject({ kind: 'http', finished: 1, stillRunning: 0, outcome: 'ok' });
  });

  it('a long-poll listening to drainSignal answers as the drain begins, instead of holding the drain to its timeout', async () => {
    const { app, second } = await start(fixture, { readinessDelayMs: 0, drainTimeoutMs: 60000 });
    const poll = get(second, '/poll');
    await app.event('polling');
    app.signal('SIGTERM');
    const response = await poll;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ events: [], retry: true });
    expect(response.headers.connection).toBe('close');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline.indexOf('poll-answered')).toBeLessThan(app.timeline.indexOf('hook-start:Resource.close'));
    expect((await app.event('poll-answered')).reason).toBe('the drain began (SIGTERM): end long requests and streams now');
    expect(reportOf(app).drain).toMatchObject({ requestsCut: 0 });
  });
});
