/**
 * Every source of work stops at the drain, before the hooks, on a real stack:
 * a redis-server started here, BullMQ, the Redis and TCP transports, SSE,
 * `ws` and socket.io clients, @nestjs/schedule, an `@OnDrain()` poller and
 * `track()`, with producers that keep producing through the shutdown and a
 * pool that fails every use once its hook has closed it.
 */
import { Logger } from '@nestjs/common';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { Queue } from 'bullmq';
import { get, type IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import type { IntakeReport, ShutdownReport } from '../../lib/index.js';
import { appProcesses, type AppProcess } from '../support/app-process.js';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  // The producers here are Nest clients: their connection lines are not the test's.
  Logger.overrideLogger(false);
  redis = await startRedis();
});
afterAll(() => redis?.stop());

const apps = appProcesses();

function start(env: Record<string, string> = {}, options: object = {}): { app: AppProcess; reportFile: string } {
  const reportFile = join(mkdtempSync(join(tmpdir(), 'graceful-')), 'report.json');
  const app = apps.start('stack.app.js', { REDIS_PORT: String(redis.port), GRACEFUL_OPTIONS: JSON.stringify({ reportFile, ...options }), ...env });
  return { app, reportFile };
}

function report(file: string): ShutdownReport {
  return JSON.parse(readFileSync(file, 'utf8')) as ShutdownReport;
}

function row(r: ShutdownReport, prefix: string): IntakeReport {
  const found = r.intake.find((source) => source.name.startsWith(prefix));
  if (!found) throw new Error(`no intake row "${prefix}" in ${JSON.stringify(r.intake.map((source) => source.name))}`);
  return found;
}

/** An SSE reader: resolves with how the stream ended, and how many events came. */
function readSse(port: number): { opened: Promise<void>; ended: Promise<{ how: 'end' | 'error'; events: number; connection?: string }> } {
  let opened!: () => void;
  const openedP = new Promise<void>((resolve) => (opened = resolve));
  const ended = new Promise<{ how: 'end' | 'error'; events: number; connection?: string }>((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/events', headers: { accept: 'text/event-stream' } }, (response: IncomingMessage) => {
      let events = 0;
      response.setEncoding('utf8').on('data', (chunk: string) => {
        events += chunk.split('\n').filter((line) => line.startsWith('data:')).length;
        if (events > 0) opened();
      });
      response.once('end', () => resolve({ how: 'end', events, connection: response.headers.connection }));
      response.once('error', () => resolve({ how: 'error', events }));
      response.once('aborted', () => resolve({ how: 'error', events }));
    });
    request.once('error', () => resolve({ how: 'error', events: 0 }));
  });
  return { opened: openedP, ended };
}

/** Adds a job every few milliseconds until stopped; returns the numbers added. */
function produceJobs(queue: Queue): { stop(): Promise<number[]> } {
  const added: number[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      await queue.add('job', { n }, { jobId: `job-${n}`, removeOnComplete: true });
      added.push(n);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return added;
    },
  };
}

/** Emits events (and asks for sums) over a transport until stopped; returns what was sent, answered and failed. */
function produceMessages(client: ClientProxy, send: boolean): { stop(): Promise<{ sent: number; answered: number; failed: number }> } {
  let running = true;
  const counts = { sent: 0, answered: 0, failed: 0 };
  const loop = (async () => {
    for (let n = 0; running; n++) {
      counts.sent++;
      try {
        if (send) {
          await firstValueFrom(client.send<number>('sum', [n, 1]));
          counts.answered++;
        } else {
          await firstValueFrom(client.emit('evt', n), { defaultValue: undefined });
        }
      } catch {
        counts.failed++;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return counts;
    },
  };
}

describe('every source of work stops at the drain, before the hooks', () => {
  it('BullMQ, the Redis transport, SSE, ws, schedules and @OnDrain under load: nothing fails on the closed pool, exit 0, and a fresh instance finishes the backlog', async () => {
    const connection = { host: '127.0.0.1', port: redis.port };
    const queue = new Queue('work', { connection });
    const publisher = ClientProxyFactory.create({ transport: Transport.REDIS, options: connection });
    await publisher.connect();
    const { app, reportFile } = start();
    const port = Number((await app.event('listening')).port);
    await app.printed('Intake stopped at the drain:');

    const jobs = produceJobs(queue);
    const events = produceMessages(publisher, false);
    const sse = readSse(port);
    await sse.opened;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await app.event('ws-connected');
    await app.event('job-done');
    await app.event('event-done');
    await app.event('tick-done');
    await app.event('poll-done');

    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const sent = await jobs.stop();
    await events.stop();

    // Nothing used the pool after its hook closed it.
    expect(app.events.filter((e) => e.type === 'pool-error')).toEqual([]);
    // Every source ended before the first hook.
    const firstHook = app.timeline.indexOf('hook-start:Pool.end');
    expect(firstHook).toBeGreaterThan(0);
    for (const type of ['ws-disconnected', 'poller-stopped']) expect(app.timeline.indexOf(type)).toBeGreaterThanOrEqual(0);
    for (const type of ['ws-disconnected', 'poller-stopped']) expect(app.timeline.indexOf(type)).toBeLessThan(firstHook);
    // Clients saw a clean end: the stream's end, 1001 Going Away.
    expect(await sse.ended).toMatchObject({ how: 'end' });
    expect(await closed).toBe(1001);

    const r = report(reportFile);
    expect(r.exitCode).toBe(0);
    for (const prefix of [
      'HTTP',
      'SSE streams',
      'WebSockets (ws',
      'Redis microservice',
      'BullMQ worker "work" (WorkProcessor)',
      'Schedules',
      'Poller.stop (@OnDrain)',
    ]) {
      expect(row(r, prefix)).toMatchObject({ outcome: 'ok', stillRunning: 0 });
    }
    expect(row(r, 'SSE streams').finished).toBe(1);
    expect(row(r, 'WebSockets (ws').finished).toBe(1);
    expect(app.output).toMatch(/ {2}BullMQ worker "work" \(WorkProcessor\) +\|/);
    expect(app.output).toMatch(/source\(s\) of work stopped; 1 hook\(s\) ok/);

    // A fresh instance takes the backlog: every job added ran exactly once.
    const doneBy = (a: AppProcess) => a.events.filter((e) => e.type === 'job-done').map((e) => e.n as number);
    const fresh = start();
    await fresh.app.until(() => new Set([...doneBy(app), ...doneBy(fresh.app)]).size >= sent.length, `every one of ${sent.length} jobs done`);
    const all = [...doneBy(app), ...doneBy(fresh.app)].sort((a, b) => a - b);
    expect(all).toEqual(sent);
    fresh.app.signal('SIGTERM');
    expect(await fresh.app.exited).toEqual({ code: 0, signal: null });

    await publisher.close();
    await queue.close();
  });

  it('socket.io clients see their transport close, so they reconnect by themselves; handleDisconnect runs before the hooks', async () => {
    const { app, reportFile } = start({ WS: 'io' }, { intake: { bullmq: false } });
    const port = Number((await app.event('listening')).port);
    const client = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: true, reconnectionDelay: 60_000 });
    await app.event('ws-connected');
    const disconnected = new Promise<{ reason: string; active: boolean }>((resolve) =>
      client.once('disconnect', (reason) => resolve({ reason, active: client.active })),
    );
    app.signal('SIGTERM');
    expect(await disconnected).toEqual({ reason: 'transport close', active: true });
    client.close();
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline.indexOf('ws-disconnected')).toBeGreaterThanOrEqual(0);
    expect(app.timeline.indexOf('ws-disconnected')).toBeLessThan(app.timeline.indexOf('hook-start:Pool.end'));
    const r = report(reportFile);
    expect(row(r, 'WebSockets (socket.io')).toMatchObject({ outcome: 'ok', finished: 1 });
    // Turned off: no row, and the worker is left to @nestjs/bullmq.
    expect(r.intake.some((source) => source.name.startsWith('BullMQ'))).toBe(false);
  });

  it('on Fastify an SSE stream ends cleanly at the drain', async () => {
    const { app, reportFile } = start({ PLATFORM: 'fastify' });
    const port = Number((await app.event('listening')).port);
    const sse = readSse(port);
    await sse.opened;
    app.signal('SIGTERM');
    expect(await sse.ended).toMatchObject({ how: 'end' });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(row(report(reportFile), 'SSE streams')).toMatchObject({ outcome: 'ok', finished: 1 });
  });

  it('a TCP microservice answers every request it took, then closes; requests it did not take are refused, none is lost after being handled', async () => {
    const tcpPort = await freePort();
    const { app, reportFile } = start({ TCP_PORT: String(tcpPort) });
    await app.event('listening');
    const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } });
    await client.connect();
    const producers = [produceMessages(client, true), produceMessages(client, true)];
    await app.event('message-done');
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const counts = await Promise.all(producers.map((producer) => producer.stop()));
    client.close();
    const handled = app.events.filter((e) => e.type === 'message-done').length;
    expect(counts.reduce((n, c) => n + c.answered, 0)).toBe(handled);
    expect(app.events.filter((e) => e.type === 'pool-error')).toEqual([]);
    expect(row(report(reportFile), 'TCP microservice')).toMatchObject({ outcome: 'ok', stillRunning: 0 });
  });

  it('a standalone Redis microservice drains, and Nest closing it a second time no longer fails the shutdown', async () => {
    const publisher = ClientProxyFactory.create({ transport: Transport.REDIS, options: { host: '127.0.0.1', port: redis.port } });
    await publisher.connect();
    const { app, reportFile } = start({ STANDALONE: '1' });
    await app.event('listening');
    const events = produceMessages(publisher, false);
    await app.event('event-done');
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await events.stop();
    await publisher.close();
    expect(app.events.filter((e) => e.type === 'pool-error')).toEqual([]);
    expect(row(report(reportFile), 'Redis microservice')).toMatchObject({ outcome: 'ok', stillRunning: 0 });
    expect(app.output).not.toContain('Connection is closed');
  });

  it('an @OnDrain() method that does not return in its timeout is named, its signal aborted, and the exit code is 1', async () => {
    const { app, reportFile } = start({ POLLER_HANG: '1', POLLER_TIMEOUT: '300' });
    await app.event('listening');
    await app.event('poll-done');
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain('Poller.stop (@OnDrain) could not be stopped in time');
    expect(row(report(reportFile), 'Poller.stop (@OnDrain)')).toMatchObject({ outcome: 'timeout', stillRunning: 1 });
    // No assertion on pool errors here: a source not stopped in time may still be working when the hooks close
    // the pool, which is exactly what the timeout, the message and the exit code 1 report.
    expect(app.events.map((e) => e.type)).toContain('poller-stop');
  });

  it('track((signal) => ...): the signal aborts at drainTimeoutMs, and the report counts the task as still running, not cut', async () => {
    const { app, reportFile } = start({ TRACK_FOREVER: '1' }, { drainTimeoutMs: 300 });
    const port = Number((await app.event('listening')).port);
    await new Promise<void>((resolve, reject) =>
      get({ host: '127.0.0.1', port, path: '/track' }, (res) => res.resume().once('end', resolve)).once('error', reject),
    );
    await app.event('tracked-start');
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(await app.event('tracked-end')).toMatchObject({ aborted: true });
    expect(row(report(reportFile), 'track()')).toMatchObject({ outcome: 'timeout', stillRunning: 1 });
    expect(app.output).toContain('track() could not be stopped in time: 1 task(s) still running');
  });
});
