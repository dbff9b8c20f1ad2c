import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { GracefulLifecycleService, GracefulModule } from 'nestjs-graceful';
import { Agent, createServer, type RequestListener, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { HttpServerRegistry } from '../../lib/drain/http-server.registry.js';
import { pathOf, type HttpDrain } from '../../lib/drain/http.drain.js';
import { sumDrains } from '../../lib/drain/traffic.drain.js';
import type { CutRequest, DrainReport, IntakeReport } from '../../lib/interfaces/shutdown-report.interface.js';
import { exitCodeOf } from '../../lib/report/shutdown-report.builder.js';
import { cutList, intakeNote } from '../../lib/report/timeline.formatter.js';
import { get } from '../support/http.js';

const express = createRequire(import.meta.url)('express') as () => RequestListener & { get(path: string, handler: RequestListener): void };

function drainReport(over: Partial<DrainReport>): DrainReport {
  return { inFlightAtStart: 0, requestsCompleted: 0, idleConnectionsClosed: 0, requestsCut: 0, cutRequests: [], trackedWorkCut: 0, durationMs: 0, ...over };
}

function cut(server: string, runningMs: number, path = '/x'): CutRequest {
  return { server, method: 'GET', path, runningMs };
}

describe('the drain of several servers, as data', () => {
  it('adds the counts, keeps the longest duration, names the longest-running cut requests first and at most 20', () => {
    const many = Array.from({ length: 30 }, (_, i) => cut('HTTP :2', i));
    const sum = sumDrains(
      [
        drainReport({ inFlightAtStart: 2, requestsCompleted: 5, idleConnectionsClosed: 1, requestsCut: 1, cutRequests: [cut('HTTP :1', 500)], durationMs: 40 }),
        drainReport({ inFlightAtStart: 3, requestsCompleted: 7, idleConnectionsClosed: 2, requestsCut: 30, cutRequests: many, durationMs: 90 }),
      ],
      1,
    );
    expect(sum).toMatchObject({ inFlightAtStart: 5, requestsCompleted: 12, idleConnectionsClosed: 3, requestsCut: 31, durationMs: 90 });
    expect(sum.cutRequests).toHaveLength(20);
    expect(sum.cutRequests[0]).toEqual(cut('HTTP :1', 500));
    expect(sum.cutRequests.slice(1).map((request) => request.runningMs)).toEqual(Array.from({ length: 19 }, (_, i) => 29 - i));
  });

  it('no server: nothing drained, the duration given', () => {
    expect(sumDrains([], 7)).toEqual(drainReport({ durationMs: 7 }));
  });

  it('a cut request makes the exit code 1, even with every hook and every other source ok', () => {
    const facts = { deadlineExceeded: false, sequenceFailed: false, exitCalls: [], hooks: [{ outcome: 'ok' as const }], intake: [{ outcome: 'ok' as const }] };
    expect(exitCodeOf({ ...facts, drain: drainReport({}) })).toBe(0);
    expect(exitCodeOf({ ...facts, drain: drainReport({ requestsCut: 1, cutRequests: [cut('HTTP', 300)] }) })).toBe(1);
  });

  it('a path is named without its query string, and bounded', () => {
    expect(pathOf('/poll?token=secret')).toBe('/poll');
    expect(pathOf(undefined)).toBe('?');
    expect(pathOf(`/${'a'.repeat(300)}`)).toHaveLength(201);
  });

  it("the timeline's row of a server names its own cut requests, three at most, and the idle count only when it is the one server", () => {
    const row = (name: string, stillRunning: number): IntakeReport => ({
      name,
      kind: 'http',
      unit: 'request',
      start: 0,
      end: 1,
      finished: 2,
      stillRunning,
      outcome: stillRunning > 0 ? 'timeout' : 'ok',
    });
    const drain = drainReport({
      idleConnectionsClosed: 4,
      requestsCut: 5,
      cutRequests: [cut('HTTP :1', 900, '/a'), cut('HTTP :2', 800, '/b'), cut('HTTP :1', 700, '/c'), cut('HTTP :1', 600, '/d'), cut('HTTP :1', 500, '/e')],
    });
    const rows = [row('HTTP :1', 4), row('HTTP :2', 1)];
    expect(intakeNote(rows[0], drain, rows)).toBe(
      "2 request(s) completed, 4 still running at the drain's end, cut: GET /a (ran 900 ms), GET /c (ran 700 ms), GET /d (ran 600 ms), and 1 more",
    );
    expect(intakeNote(rows[1], drain, rows)).toBe("2 request(s) completed, 1 still running at the drain's end, cut: GET /b (ran 800 ms)");
    expect(intakeNote(row('HTTP', 0), drainReport({ idleConnectionsClosed: 4 }))).toBe('2 request(s) completed, 4 idle connection(s) closed');
    expect(cutList([cut('HTTP', 1)], 25)).toBe('GET /x (ran 1 ms), and 24 more');
  });
});

describe('the HTTP servers of one application', () => {
  const servers: Array<Server | HttpsServer> = [];
  const registries: HttpServerRegistry[] = [];
  afterEach(async () => {
    registries.splice(0).forEach((registry) => registry.release());
    await Promise.all(servers.splice(0).map((server) => (server.closeAllConnections(), new Promise((resolve) => server.close(resolve)))));
  });
  const listen = async (server: Server | HttpsServer) => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  /** An Express app whose /hold answers once `release()` is called, and the registry watching it (its own server never listens). */
  const recipe = () => {
    const app = express();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = 0;
    const holding: Array<() => void> = [];
    app.get('/hold', (_req, res) => {
      held++;
      holding.splice(0).forEach((resolve) => resolve());
      void released.then(() => res.end('held'));
    });
    app.get('/ping', (_req, res) => res.end('pong'));
    const registry = new HttpServerRegistry();
    registries.push(registry);
    const main = createServer(app);
    servers.push(main);
    registry.setMain(main, app);
    const heldCount = async (n: number) => {
      while (held < n) await new Promise<void>((resolve) => holding.push(resolve));
    };
    return { app, registry, release, heldCount };
  };
  const drainAll = (registry: HttpServerRegistry, signal: AbortSignal, accepting?: (drain: HttpDrain) => void) =>
    registry.drain((drain) => drain.drain(signal, () => accepting?.(drain)));

  it('finds every server created from the application at its first request, and drains them all at once', async () => {
    const { app, registry, release, heldCount } = recipe();
    const [a, b] = await Promise.all([listen(createServer(app)), listen(createServer(app))]);
    const heldA = get(a, '/hold');
    const heldB = get(b, '/hold');
    await heldCount(2);
    const stopped: string[] = [];
    let allStopped: () => void = () => undefined;
    const bothStopped = new Promise<void>((resolve) => (allStopped = resolve));
    const drained = drainAll(registry, new AbortController().signal, (drain) => {
      stopped.push(drain.name);
      if (stopped.length === 2) allStopped();
    });
    await bothStopped;
    expect(stopped.sort()).toEqual([`HTTP :${a}`, `HTTP :${b}`].sort());
    await expect(get(a, '/ping')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(get(b, '/ping')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    release();
    for (const response of await Promise.all([heldA, heldB])) expect(response).toMatchObject({ status: 200, body: 'held' });
    const reports = await drained;
    // The application's own server never listened: no row for it.
    expect(reports).toHaveLength(2);
    expect(reports.map((report) => report.requestsCompleted)).toEqual([1, 1]);
  });

  it("the recipe's HTTPS server (https.createServer(options, app)) is found and drained the same way", async () => {
    const { app, registry, release, heldCount } = recipe();
    const dir = join(process.cwd(), 'test', 'fixtures', 'tls');
    const port = await listen(createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, app));
    const held = get(port, '/hold', undefined, { tls: true });
    await heldCount(1);
    let stopped = '';
    const drained = drainAll(registry, new AbortController().signal, (drain) => (stopped = drain.name));
    expect(stopped).toBe(`HTTPS :${port}`);
    await expect(get(port, '/ping', undefined, { tls: true })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    release();
    expect(await held).toMatchObject({ status: 200, body: 'held' });
    expect((await drained).map((report) => report.requestsCompleted)).toEqual([1]);
  });

  it('a connection made before its server was found is still closed at the drain', async () => {
    const { app, registry } = recipe();
    const port = await listen(createServer(app));
    const agent = new Agent({ keepAlive: true });
    const { socket } = await get(port, '/ping', agent);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const [report] = await drainAll(registry, new AbortController().signal);
    await closed;
    expect(report.idleConnectionsClosed).toBe(1);
    agent.destroy();
  });

  it('names each request cut at the signal: method, path without its query, how long it ran', async () => {
    const { app, registry, heldCount } = recipe();
    const port = await listen(createServer(app));
    const held = get(port, '/hold?token=secret');
    await heldCount(1);
    const timeout = new AbortController();
    const drained = drainAll(registry, timeout.signal);
    timeout.abort();
    const [report] = await drained;
    await expect(held).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(report.requestsCut).toBe(1);
    expect(report.cutRequests).toEqual([{ server: `HTTP :${port}`, method: 'GET', path: '/hold', runningMs: expect.any(Number) as number }]);
  });

  it('readiness: up when a server the application serves through listens, whether found or handed over; not for a server beside it', async () => {
    const { app, registry } = recipe();
    const metrics = createServer((_req, res) => res.end());
    registry.add(metrics, 'metrics');
    let ready = 0;
    registry.whenServing(() => ready++);
    await listen(metrics);
    expect(ready).toBe(0);
    const handed = createServer(app);
    registry.add(handed);
    expect(ready).toBe(0);
    await listen(handed);
    expect(ready).toBe(1);
    // Once only.
    await get((handed.address() as AddressInfo).port, '/ping');
    expect(ready).toBe(1);
  });

  it('readiness: up at the first request through a server created from the application', async () => {
    const { app, registry } = recipe();
    const port = await listen(createServer(app));
    let ready = 0;
    registry.whenServing(() => ready++);
    expect(ready).toBe(0);
    await get(port, '/ping');
    expect(ready).toBe(1);
  });

  it('a server found after the drain has ended is closed at once and named', async () => {
    const app = express();
    app.get('/ping', (_req, res) => res.end('pong'));
    const late: string[] = [];
    const registry = new HttpServerRegistry((name) => late.push(name));
    registries.push(registry);
    registry.setMain(createServer(app), app);
    await drainAll(registry, new AbortController().signal);
    const port = await listen(createServer(app));
    await get(port, '/ping');
    expect(late).toEqual([`HTTP :${port}`]);
    await expect(get(port, '/ping')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('release() gives the application its own handler back', () => {
    const app = express() as unknown as { handle: unknown };
    const handle = app.handle;
    const registry = new HttpServerRegistry();
    registry.setMain(createServer(), app);
    expect(app.handle).not.toBe(handle);
    registry.release();
    expect(app.handle).toBe(handle);
  });
});

describe('GracefulLifecycleService.drainServer', () => {
  it('refuses what is not a Node.js server, naming what to pass', async () => {
    @Module({ imports: [GracefulModule.forRoot({ logger: false })] })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const lifecycle = moduleRef.get(GracefulLifecycleService);
    expect(() => lifecycle.drainServer({} as Server)).toThrow(
      'drainServer() takes a Node.js http, https or http2 server (what http.createServer() returns), got an instance of Object. For Fastify, pass fastify.server.',
    );
    expect(lifecycle.drainSignal.aborted).toBe(false);
    await moduleRef.close();
  });
});

describe('GracefulLifecycleService.drainSignal', () => {
  it("first asked for once the drain has begun: already aborted, with the drain's reason", async () => {
    @Module({ imports: [GracefulModule.forRoot({ logger: false, signals: [] })] })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    await moduleRef.init();
    const lifecycle = moduleRef.get(GracefulLifecycleService);
    await moduleRef.close();
    expect(lifecycle.drainSignal.aborted).toBe(true);
    expect((lifecycle.drainSignal.reason as Error).message).toMatch(/^the drain began \(close\)/);
  });
});
