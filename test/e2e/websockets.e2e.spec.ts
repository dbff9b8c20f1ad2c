/**
 * Every WebSocket on the drained server, whoever owns it, is closed with
 * 1001 before the first hook, and gateway handlers in flight answer first.
 * Real processes (test/fixtures/websockets.app.ts), real clients (`ws`,
 * `graphql-ws`, `socket.io-client`) that keep connecting, sending and
 * receiving through SIGTERM, and a pool that fails every use once its hook
 * has ended it.
 */
import { createClient } from 'graphql-ws';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket as IoSocket } from 'socket.io-client';
import WebSocket from 'ws';
import type { IntakeReport, ShutdownReport } from '../../lib/index.js';
import { appProcesses, type AppProcess } from '../support/app-process.js';

const apps = appProcesses();

function start(mode: string, env: Record<string, string> = {}, options: object = {}): { app: AppProcess; reportFile: string } {
  const reportFile = join(mkdtempSync(join(tmpdir(), 'graceful-')), 'report.json');
  const app = apps.start('websockets.app.js', { MODE: mode, GRACEFUL_OPTIONS: JSON.stringify({ reportFile, ...options }), ...env });
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

/** What the clients saw: how many connected, and the close code each connected one got. */
interface Tally {
  connected: number;
  codes: number[];
  received: number;
}

/**
 * Clients of one kind: `persistent` of them connect at once and stay; one
 * more tries to connect every 10 ms until `stop()`, through the shutdown
 * (refused once the drain began). `ready` resolves once every persistent
 * client has received something.
 */
function clients(persistent: number, connect: (tally: Tally, received: () => void) => Promise<void>): { ready: Promise<void>; stop(): Promise<Tally> } {
  const tally: Tally = { connected: 0, codes: [], received: 0 };
  const closed: Array<Promise<void>> = [];
  const firsts: Array<Promise<void>> = [];
  for (let i = 0; i < persistent; i++) {
    let first!: () => void;
    firsts.push(new Promise<void>((resolve) => (first = resolve)));
    closed.push(connect(tally, () => first()));
  }
  let churning = true;
  const churn = (async () => {
    while (churning) {
      closed.push(connect(tally, () => undefined));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    ready: Promise.all(firsts).then(() => undefined),
    async stop() {
      churning = false;
      await churn;
      await Promise.all(closed);
      return tally;
    },
  };
}

/** A graphql-ws client subscribed to `tick`; resolves once closed. */
function graphqlClient(port: number): (tally: Tally, received: () => void) => Promise<void> {
  return (tally, received) =>
    new Promise<void>((resolve) => {
      let connected = false;
      const client = createClient({
        url: `ws://127.0.0.1:${port}/graphql`,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        onNonLazyError: () => undefined,
        on: {
          connected: () => {
            connected = true;
            tally.connected++;
          },
          closed: (event) => {
            if (connected) tally.codes.push((event as { code: number }).code);
            resolve();
          },
        },
      });
      client.subscribe(
        { query: 'subscription { tick }' },
        {
          next: () => {
            tally.received++;
            received();
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
    });
}

/** A `ws` client that sends a message every 5 ms while open; resolves once closed. */
function wsClient(port: number, path: string): (tally: Tally, received: () => void) => Promise<void> {
  return (tally, received) =>
    new Promise<void>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`);
      let opened = false;
      let timer: NodeJS.Timeout | undefined;
      socket.on('open', () => {
        opened = true;
        tally.connected++;
        let n = 0;
        timer = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send(String(++n)), 5);
      });
      socket.on('message', () => {
        tally.received++;
        received();
      });
      socket.on('error', () => undefined);
      socket.on('close', (code) => {
        clearInterval(timer);
        if (opened) tally.codes.push(code);
        resolve();
      });
    });
}

/**
 * Runs one owner's case: clients busy through SIGTERM; every connected client
 * closed with 1001 while the hook had not run (the hook saw no upgraded
 * socket open), no subscription event or message on the ended pool, exit 0.
 */
async function closesEveryClient(mode: string, path: string, prefix: string, env: Record<string, string> = {}): Promise<void> {
  const { app, reportFile } = start(mode, env);
  const port = Number((await app.event('listening')).port);
  const persistent = 4;
  const load = clients(persistent, path === '/graphql' ? graphqlClient(port) : wsClient(port, path));
  await load.ready;

  app.signal('SIGTERM');
  expect(await app.exited).toEqual({ code: 0, signal: null });
  const tally = await load.stop();

  expect(app.events.filter((e) => e.type === 'pool-error')).toEqual([]);
  // Every client that connected was closed with Going Away, before the hook: when it ran, no upgraded socket was open.
  expect(tally.connected).toBeGreaterThanOrEqual(persistent);
  expect(tally.codes).toEqual(Array(tally.connected).fill(1001));
  expect(app.events.find((e) => e.type === 'hook-start')).toMatchObject({ hook: 'Pool.end', openWebSockets: 0 });

  const r = report(reportFile);
  expect(r.exitCode).toBe(0);
  const sockets = row(r, prefix);
  expect(sockets).toMatchObject({ kind: 'websocket', outcome: 'ok', stillRunning: 0 });
  expect(sockets.finished).toBeGreaterThanOrEqual(persistent);
  expect(sockets.name).toContain(path);
  expect(app.output).toMatch(/ {2}WebSockets upgraded on the HTTP server \(\/[a-z]*\) +\|/);
}

describe('every WebSocket on the server is closed with 1001 at the drain, before the first hook', () => {
  it('GraphQL subscriptions on Apollo (Express, graphql-ws): subscribers get 1001, no event is resolved on the ended pool, new upgrades are refused', async () => {
    await closesEveryClient('apollo', '/graphql', 'WebSockets upgraded on the HTTP server');
  });

  it('GraphQL subscriptions on Mercurius (Fastify)', async () => {
    await closesEveryClient('mercurius', '/graphql', 'WebSockets upgraded on the HTTP server');
  });

  it('a ws server the application attaches with { server }: closed, so that Nest no longer waits for it until the deadline', async () => {
    await closesEveryClient('ws-raw', '/raw', 'WebSockets upgraded on the HTTP server');
  });

  it("a ws server with noServer on the server's 'upgrade'", async () => {
    await closesEveryClient('ws-raw', '/raw', 'WebSockets upgraded on the HTTP server', { WS_RAW: 'noServer' });
  });

  it('a @fastify/websocket route', async () => {
    await closesEveryClient('fastify-ws', '/live', 'WebSockets upgraded on the HTTP server');
  });

  it('a subscriber that never answers the close is cut at drainTimeoutMs, counted as still running, and the exit code says so', async () => {
    const { app, reportFile } = start('apollo', {}, { drainTimeoutMs: 1000 });
    const port = Number((await app.event('listening')).port);
    const held = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
    await new Promise((resolve) => held.once('open', resolve));
    held.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((resolve) => held.once('message', resolve));
    // Reads nothing more: the close frame is never answered.
    (held as unknown as { _socket: { pause(): void } })._socket.pause();
    app.signal('SIGTERM');
    const exit = await app.exited;
    held.terminate();
    expect(exit).toEqual({ code: 1, signal: null });
    // Cut before the hooks ran.
    expect(app.events.find((e) => e.type === 'hook-start')).toMatchObject({ openWebSockets: 0 });
    const r = report(reportFile);
    expect(r.exitCode).toBe(1);
    expect(row(r, 'WebSockets upgraded on the HTTP server (/graphql)')).toMatchObject({ outcome: 'timeout', finished: 0, stillRunning: 1 });
  });
});

describe('gateway handlers in flight answer before their sockets close', () => {
  it('socket.io: every message a handler took is acked, the one in flight at the drain included; nothing runs on the ended pool', async () => {
    const { app, reportFile } = start('gateway-io');
    const port = Number((await app.event('listening')).port);
    // The last client stays on HTTP long-polling: its handlers finish before the hooks too, but see the README's limits for its acks.
    const transports = ['websocket', 'websocket', 'websocket', 'websocket', 'polling'];
    const sockets: IoSocket[] = transports.map((transport) => io(`http://127.0.0.1:${port}`, { transports: [transport], reconnection: false }));
    const polled = new Set<number>();
    await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.once('connect', () => resolve()))));
    const reasons = sockets.map((socket) => new Promise<string>((resolve) => socket.once('disconnect', resolve)));
    const acked = new Set<number>();
    let next = 0;
    const loops = sockets.flatMap((socket, i) =>
      [0, 1, 2].map(async () => {
        while (socket.connected) {
          const n = ++next;
          if (transports[i] === 'polling') polled.add(n);
          try {
            acked.add((await socket.timeout(30_000).emitWithAck('work', n)) as number);
          } catch {
            return;
          }
        }
      }),
    );
    const slow = sockets[0]
      .timeout(30_000)
      .emitWithAck('slow', -1)
      .then((n: number) => acked.add(n))
      .catch(() => undefined);
    await app.event('slow-start');
    await app.event('handled');

    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await Promise.all([...loops, slow]);

    expect(app.events.filter((e) => e.type === 'pool-error')).toEqual([]);
    const handled = app.events.filter((e) => e.type === 'handled').map((e) => e.n as number);
    // The handler that waited for the drain ran, and its ack arrived; so did every other handler's.
    expect(handled).toContain(-1);
    expect(handled.filter((n) => !acked.has(n) && !polled.has(n))).toEqual([]);
    // Every handler ended before the hook: none of them ran on after it (pool-error above), none was left behind.
    const hook = app.timeline.indexOf('hook-start:Pool.end');
    expect(app.timeline.lastIndexOf('handled')).toBeLessThan(hook);
    // The transport closed: standard clients reconnect by themselves.
    expect((await Promise.all(reasons)).slice(0, 4)).toEqual(Array(4).fill('transport close'));

    const r = report(reportFile);
    expect(r.exitCode).toBe(0);
    expect(row(r, 'WebSocket gateway handlers')).toMatchObject({ outcome: 'ok', stillRunning: 0 });
    expect(row(r, 'WebSocket gateway handlers').finished).toBeGreaterThanOrEqual(1);
    expect(row(r, 'WebSockets (socket.io')).toMatchObject({ outcome: 'ok', finished: sockets.length, stillRunning: 0 });
    // The sockets a gateway owns are counted once, by the gateway.
    expect(row(r, 'WebSockets upgraded on the HTTP server')).toMatchObject({ finished: 0, stillRunning: 0 });
    expect(app.events.find((e) => e.type === 'hook-start')).toMatchObject({ openWebSockets: 0 });
  });

  it('platform-ws: every message a handler took gets its reply before the 1001 close', async () => {
    const { app, reportFile } = start('gateway-ws');
    const port = Number((await app.event('listening')).port);
    const replied = new Set<number>();
    const codes: number[] = [];
    let next = 0;
    const sockets = [0, 1, 2, 3].map(() => new WebSocket(`ws://127.0.0.1:${port}/`));
    await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('open', resolve))));
    const closed = sockets.map(
      (socket) =>
        new Promise<void>((resolve) =>
          socket.once('close', (code) => {
            codes.push(code);
            resolve();
          }),
        ),
    );
    const send = (socket: WebSocket, event = 'work', n = ++next) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ event, data: n }));
    };
    for (const socket of sockets) {
      socket.on('message', (data) => {
        replied.add((JSON.parse(String(data)) as { data: number }).data);
        send(socket);
      });
      for (let i = 0; i < 3; i++) send(socket);
    }
    send(sockets[0], 'slow', -1);
    await app.event('slow-start');
    await app.event('handled');

    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await Promise.all(closed);

    expect(app.events.filter((e) => e.type === 'pool-error')).toEqual([]);
    const handled = app.events.filter((e) => e.type === 'handled').map((e) => e.n as number);
    expect(handled).toContain(-1);
    expect(handled.filter((n) => !replied.has(n))).toEqual([]);
    expect(codes).toEqual([1001, 1001, 1001, 1001]);

    const r = report(reportFile);
    expect(r.exitCode).toBe(0);
    expect(row(r, 'WebSocket gateway handlers')).toMatchObject({ outcome: 'ok', stillRunning: 0 });
    expect(row(r, 'WebSockets (ws')).toMatchObject({ outcome: 'ok', finished: 4, stillRunning: 0 });
    expect(row(r, 'WebSockets upgraded on the HTTP server')).toMatchObject({ finished: 0, stillRunning: 0 });
  });
});
