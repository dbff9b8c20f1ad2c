/**
 * Every microservice transport loses nothing in a rolling restart: real
 * brokers started here on 127.0.0.1 (RabbitMQ, NATS, mosquitto; gRPC
 * in-process), Nest's own clients (grpc-js for gRPC) producing every 5 ms
 * through SIGTERM, a second instance up before the first is stopped and
 * taking the backlog, and a pool that fails every use once its hook closed
 * it. Every unit of work is counted on both instances.
 */
import { Logger } from '@nestjs/common';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IntakeReport, ShutdownReport } from '../../lib/index.js';
import { appProcesses, type AppProcess } from '../support/app-process.js';
import { startMosquitto, startNats, startRabbitMq, type Broker } from '../support/brokers.js';
import { freePort } from '../support/redis.js';
import {
  events,
  grpcClient,
  grpcCount,
  grpcSum,
  ids,
  nestClient,
  produce,
  repeated,
  requests,
  withFailover,
  type Produced,
} from '../support/transport-load.js';

const apps = appProcesses();
beforeAll(() => Logger.overrideLogger(false));

interface Instance {
  app: AppProcess;
  reportFile: string;
}

function start(env: Record<string, string>): Instance {
  const reportFile = join(mkdtempSync(join(tmpdir(), 'graceful-')), 'report.json');
  const app = apps.start('transport.app.js', { GRACEFUL_OPTIONS: JSON.stringify({ reportFile, drainTimeoutMs: 8000 }), ...env });
  return { app, reportFile };
}

function row(file: string, prefix: string): IntakeReport {
  const report = JSON.parse(readFileSync(file, 'utf8')) as ShutdownReport;
  const found = report.intake.find((source) => source.name.startsWith(prefix));
  if (!found) throw new Error(`no intake row "${prefix}" in ${JSON.stringify(report.intake.map((source) => source.name))}`);
  return found;
}

/**
 * A rolling restart: A serves, the producers run, B starts, A gets SIGTERM
 * and exits, B takes what A left, the producers stop, B handles the rest
 * and is stopped in turn.
 */
async function rollingRestart(
  envA: Record<string, string>,
  envB: Record<string, string>,
  producers: () => Array<{ stop(): Promise<Produced> }>,
  doneType: string,
  settled: (a: AppProcess, b: AppProcess, produced: Produced[]) => boolean,
): Promise<{ a: Instance; b: Instance; produced: Produced[]; exitA: unknown; exitB: unknown }> {
  const a = start(envA);
  await a.app.event('listening');
  const running = producers();
  await a.app.until(() => ids(a.app, doneType).length >= 5, `A handled 5 ${doneType}`);
  const b = start(envB);
  await b.app.event('listening');
  a.app.signal('SIGTERM');
  const exitA = await a.app.exited;
  // B takes the work that arrives after A is gone.
  const atExit = ids(b.app, doneType).length;
  await b.app.until(() => ids(b.app, doneType).length >= atExit + 5, `B handled 5 more ${doneType} after A exited`);
  const produced = await Promise.all(running.map((producer) => producer.stop()));
  // Every answer is in; what the broker still holds for B (RabbitMQ's queue) is handled before B stops.
  await b.app.until(() => settled(a.app, b.app, produced), 'B handled the backlog');
  b.app.signal('SIGTERM');
  const exitB = await b.app.exited;
  return { a, b, produced, exitA, exitB };
}

const CLEAN = { code: 0, signal: null };
type Run = Awaited<ReturnType<typeof rollingRestart>>;

/** A rolling restart of `env`'s consumer with Nest's own client producing events and requests through it. */
async function restartUnderNestClient(
  transport: 'rmq' | 'nats' | 'mqtt',
  url: string,
  env: Record<string, string>,
  settled: (a: AppProcess, b: AppProcess, produced: Produced[]) => boolean = () => true,
): Promise<Run> {
  const client = nestClient(transport, url, env.QUEUE);
  await client.connect();
  try {
    return await rollingRestart(env, env, () => [events(client), requests(client)], 'event-done', settled);
  } finally {
    await client.close();
  }
}

/** What every transport must show: both instances exit 0, nothing hit the closed pool, every request was answered, the row is clean. */
function expectClean(run: Run, rowName: string): void {
  expect(run.exitA).toEqual(CLEAN);
  expect(run.exitB).toEqual(CLEAN);
  expect([...ids(run.a.app, 'pool-error'), ...ids(run.b.app, 'pool-error')]).toEqual([]);
  for (const produced of run.produced) expect(produced.failed).toEqual([]);
  expect(row(run.a.reportFile, rowName)).toMatchObject({ outcome: 'ok', stillRunning: 0 });
}

/** Ids `type` reported by both instances together. */
const both = (run: Run, type: string) => [...ids(run.a.app, type), ...ids(run.b.app, type)];
const sorted = (values: number[]) => [...values].sort((x, y) => x - y);

describe('RabbitMQ loses nothing in a rolling restart', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startRabbitMq();
  }, 60_000);
  afterAll(() => broker?.stop());

  const cases: Array<[string, Record<string, string>]> = [
    ['noAck (the default), hybrid', {}],
    ['manual acks, hybrid', { NO_ACK: '0' }],
    ['noAck (the default), standalone', { STANDALONE: '1' }],
    ['manual acks, standalone', { NO_ACK: '0', STANDALONE: '1' }],
  ];
  it.each(cases)('%s: every event and request handled once, every reply delivered, exit 0', async (_name, mode) => {
    const queue = `work-${Math.random().toString(36).slice(2)}`;
    const run = await restartUnderNestClient(
      'rmq',
      broker.url,
      { TRANSPORT: 'rmq', BROKER_URL: broker.url, QUEUE: queue, ...mode },
      // What the queue still holds for B is handled before B stops.
      (a, b, [sentEvents]) => ids(a, 'event-done').length + ids(b, 'event-done').length >= sentEvents.ok.length,
    );
    const [sentEvents, sentRequests] = run.produced;
    expectClean(run, 'RabbitMQ microservice');
    expect(repeated(both(run, 'event-done'))).toEqual([]);
    expect(sorted(both(run, 'event-done'))).toEqual(sorted(sentEvents.ok));
    expect(repeated(both(run, 'message-done'))).toEqual([]);
    expect(sentRequests.ok.length).toBe(sentRequests.sent.length);
    expect(ids(run.a.app, 'event-done').length).toBeGreaterThan(0);
    expect(ids(run.b.app, 'event-done').length).toBeGreaterThan(0);
  });
});

describe('NATS and MQTT lose nothing in a rolling restart', () => {
  let nats: Broker;
  let mqtt: Broker;
  beforeAll(async () => {
    [nats, mqtt] = await Promise.all([startNats(), startMosquitto()]);
  }, 60_000);
  afterAll(() => Promise.all([nats?.stop(), mqtt?.stop()]));

  it('NATS with a queue group: every event and request handled exactly once, exit 0', async () => {
    const run = await restartUnderNestClient('nats', nats.url, { TRANSPORT: 'nats', BROKER_URL: nats.url, NATS_QUEUE: 'workers' });
    expectClean(run, 'NATS microservice');
    expect(repeated(both(run, 'event-done'))).toEqual([]);
    expect(sorted(both(run, 'event-done'))).toEqual(sorted(run.produced[0].ok));
  });

  it.each([
    ['NATS without a queue group', 'nats', 'NATS microservice'],
    ['MQTT', 'mqtt', 'MQTT microservice'],
  ] as const)(
    '%s: every event handled (by both instances while both run), every request answered, nothing fails on the closed pool, exit 0',
    async (_name, transport, rowName) => {
      const broker = transport === 'nats' ? nats : mqtt;
      const run = await restartUnderNestClient(transport, broker.url, { TRANSPORT: transport, BROKER_URL: broker.url });
      expectClean(run, rowName);
      const handled = new Set(both(run, 'event-done'));
      // B is subscribed from before A's SIGTERM to its own: every event has a live subscriber that handles it.
      expect(run.produced[0].ok.filter((id) => !handled.has(id))).toEqual([]);
    },
  );
});

describe('gRPC loses nothing in a rolling restart', () => {
  it('unary and server-streaming calls in progress finish, new ones go to the next instance: none cancelled, each handled once, exit 0', async () => {
    const [portA, portB] = await Promise.all([freePort(), freePort()]);
    const a = grpcClient(portA);
    const b = grpcClient(portB);
    try {
      const run = await rollingRestart(
        { TRANSPORT: 'grpc', GRPC_URL: `127.0.0.1:${portA}` },
        { TRANSPORT: 'grpc', GRPC_URL: `127.0.0.1:${portB}` },
        () => [produce((id) => withFailover((c) => grpcSum(c, id), a, b)), produce((id) => withFailover((c) => grpcCount(c, id), a, b), 1_000_000)],
        'message-done',
        () => true,
      );
      const [unary, streams] = run.produced;
      expectClean(run, 'gRPC microservice');
      const handled = both(run, 'message-done');
      expect(repeated(handled)).toEqual([]);
      expect(sorted(handled)).toEqual(sorted(unary.ok));
      const streamed = both(run, 'stream-done');
      expect(repeated(streamed)).toEqual([]);
      expect(streamed.length).toBe(streams.ok.length);
      expect(ids(run.a.app, 'message-done').length).toBeGreaterThan(0);
    } finally {
      a.close();
      b.close();
    }
  });
});
