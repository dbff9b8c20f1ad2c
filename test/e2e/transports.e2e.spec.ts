/**
 * Every microservice transport loses nothing in a rolling restart: real
 * brokers started here on 127.0.0.1 (RabbitMQ, NATS, mosquitto; gRPC
 * in-process), Nest's own clients (grpc-js for gRPC) producing every 5 ms
 * through SIGTERM, a second instance up before the first is stopped and
 * taking the backlog, and a pool that fails every use once its hook closed
 * it. Every unit of work is counted on both instances.
 */
import { Logger } from '@nestjs/common';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { credentials, loadPackageDefinition, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, timeout } from 'rxjs';
import type { IntakeReport, ShutdownReport } from '../../lib/index.js';
import { appProcesses, type AppProcess } from '../support/app-process.js';
import { startMosquitto, startNats, startRabbitMq, type Broker } from '../support/brokers.js';
import { freePort } from '../support/redis.js';
import { writeProto } from '../fixtures/work.proto.js';

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

/** The ids an instance reported for `type`. */
function ids(app: AppProcess, type: string): number[] {
  return app.events.filter((e) => e.type === type).map((e) => Number(e.id));
}

/** Ids that occur more than once in `all`. */
function repeated(all: number[]): number[] {
  const seen = new Set<number>();
  return all.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
}

interface Produced {
  sent: number[];
  ok: number[];
  failed: Array<{ id: number; error: string }>;
}

/** Sends one unit every 5 ms without waiting for the last one, until stopped; then waits for every answer. */
function produce(send: (id: number) => Promise<unknown>, firstId = 0): { stop(): Promise<Produced> } {
  const produced: Produced = { sent: [], ok: [], failed: [] };
  const pending = new Set<Promise<void>>();
  let running = true;
  const loop = (async () => {
    for (let id = firstId; running; id++) {
      produced.sent.push(id);
      const unit = send(id).then(
        () => void produced.ok.push(id),
        (error: unknown) => void produced.failed.push({ id, error: String((error as Error)?.message ?? error) }),
      );
      pending.add(unit);
      void unit.then(() => pending.delete(unit));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(pending);
      return produced;
    },
  };
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

function nestClient(transport: 'rmq' | 'nats' | 'mqtt', url: string, queue?: string): ClientProxy {
  if (transport === 'rmq') return ClientProxyFactory.create({ transport: Transport.RMQ, options: { urls: [url], queue: queue ?? 'work' } });
  if (transport === 'nats') return ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [url] } });
  return ClientProxyFactory.create({ transport: Transport.MQTT, options: { url } });
}

function events(client: ClientProxy, firstId = 0) {
  return produce((id) => firstValueFrom(client.emit('evt', { id }), { defaultValue: undefined }), firstId);
}

function requests(client: ClientProxy, firstId = 1_000_000) {
  return produce((id) => firstValueFrom(client.send<number>('sum', { id }).pipe(timeout(20_000))), firstId);
}

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
    const env = { TRANSPORT: 'rmq', BROKER_URL: broker.url, QUEUE: queue, ...mode };
    const client = nestClient('rmq', broker.url, queue);
    await client.connect();
    try {
      const run = await rollingRestart(
        env,
        env,
        () => [events(client), requests(client)],
        'event-done',
        (a, b, [sentEvents]) => ids(a, 'event-done').length + ids(b, 'event-done').length >= sentEvents.ok.length,
      );
      const [sentEvents, sentRequests] = run.produced;
      expect(run.exitA).toEqual(CLEAN);
      expect(run.exitB).toEqual(CLEAN);
      expect([...ids(run.a.app, 'pool-error'), ...ids(run.b.app, 'pool-error')]).toEqual([]);
      expect(sentEvents.failed).toEqual([]);
      expect(sentRequests.failed).toEqual([]);
      const handledEvents = [...ids(run.a.app, 'event-done'), ...ids(run.b.app, 'event-done')];
      expect(repeated(handledEvents)).toEqual([]);
      expect(handledEvents.sort((x, y) => x - y)).toEqual(sentEvents.ok.sort((x, y) => x - y));
      const handledRequests = [...ids(run.a.app, 'message-done'), ...ids(run.b.app, 'message-done')];
      expect(repeated(handledRequests)).toEqual([]);
      expect(sentRequests.ok.length).toBe(sentRequests.sent.length);
      expect(row(run.a.reportFile, 'RabbitMQ microservice')).toMatchObject({ outcome: 'ok', stillRunning: 0 });
      expect(ids(run.a.app, 'event-done').length).toBeGreaterThan(0);
      expect(ids(run.b.app, 'event-done').length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
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
    const env = { TRANSPORT: 'nats', BROKER_URL: nats.url, NATS_QUEUE: 'workers' };
    const client = nestClient('nats', nats.url);
    await client.connect();
    try {
      const run = await rollingRestart(
        env,
        env,
        () => [events(client), requests(client)],
        'event-done',
        () => true,
      );
      const [sentEvents, sentRequests] = run.produced;
      expect(run.exitA).toEqual(CLEAN);
      expect(run.exitB).toEqual(CLEAN);
      expect([...ids(run.a.app, 'pool-error'), ...ids(run.b.app, 'pool-error')]).toEqual([]);
      expect(sentRequests.failed).toEqual([]);
      const handledEvents = [...ids(run.a.app, 'event-done'), ...ids(run.b.app, 'event-done')];
      expect(repeated(handledEvents)).toEqual([]);
      expect(handledEvents.sort((x, y) => x - y)).toEqual(sentEvents.ok.sort((x, y) => x - y));
      expect(row(run.a.reportFile, 'NATS microservice')).toMatchObject({ outcome: 'ok', stillRunning: 0 });
    } finally {
      await client.close();
    }
  });

  it.each([
    ['NATS without a queue group', 'nats'],
    ['MQTT', 'mqtt'],
  ] as const)(
    '%s: every event handled (by both instances while both run), every request answered, nothing fails on the closed pool, exit 0',
    async (_name, transport) => {
      const broker = transport === 'nats' ? nats : mqtt;
      const env = { TRANSPORT: transport, BROKER_URL: broker.url };
      const client = nestClient(transport, broker.url);
      await client.connect();
      try {
        const run = await rollingRestart(
          env,
          env,
          () => [events(client), requests(client)],
          'event-done',
          () => true,
        );
        const [sentEvents, sentRequests] = run.produced;
        expect(run.exitA).toEqual(CLEAN);
        expect(run.exitB).toEqual(CLEAN);
        expect([...ids(run.a.app, 'pool-error'), ...ids(run.b.app, 'pool-error')]).toEqual([]);
        expect(sentRequests.failed).toEqual([]);
        const handled = new Set([...ids(run.a.app, 'event-done'), ...ids(run.b.app, 'event-done')]);
        // B is subscribed from before A's SIGTERM to its own: every event has a live subscriber that handles it.
        expect(sentEvents.ok.filter((id) => !handled.has(id))).toEqual([]);
        expect(row(run.a.reportFile, `${transport === 'nats' ? 'NATS' : 'MQTT'} microservice`)).toMatchObject({ outcome: 'ok', stillRunning: 0 });
      } finally {
        await client.close();
      }
    },
  );
});

describe('gRPC loses nothing in a rolling restart', () => {
  type Call = (request: object, callback: (error: ServiceError | null, reply?: { id: number }) => void) => void;
  interface WorkClient {
    Sum: Call;
    Count(request: object): NodeJS.EventEmitter;
    close(): void;
  }

  function clientFor(port: number): WorkClient {
    const definition = loadPackageDefinition(loadSync(writeProto())) as unknown as {
      work: { Work: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => WorkClient };
    };
    return new definition.work.Work(`127.0.0.1:${port}`, credentials.createInsecure());
  }

  function sum(client: WorkClient, id: number): Promise<number> {
    return new Promise((resolve, reject) => client.Sum({ id }, (error, reply) => (error ? reject(error) : resolve(reply!.id))));
  }

  function count(client: WorkClient, id: number): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const items: number[] = [];
      const call = client.Count({ id, n: 3 });
      call.on('data', (item: { id: number }) => items.push(item.id));
      call.on('error', (error: ServiceError) => reject(Object.assign(error, { items: items.length })));
      call.on('end', () => resolve(items));
    });
  }

  /** A call that A refused before taking it (UNAVAILABLE, nothing received) goes to B, as a client's retry policy would. */
  function withFailover<T>(call: (client: WorkClient) => Promise<T>, a: WorkClient, b: WorkClient): Promise<T> {
    return call(a).catch((error: ServiceError & { items?: number }) => {
      if (error.code === GrpcStatus.UNAVAILABLE && !error.items) return call(b);
      throw error;
    });
  }

  it('unary and server-streaming calls in progress finish, new ones go to the next instance: none cancelled, each handled once, exit 0', async () => {
    const [portA, portB] = await Promise.all([freePort(), freePort()]);
    const a = clientFor(portA);
    const b = clientFor(portB);
    try {
      const run = await rollingRestart(
        { TRANSPORT: 'grpc', GRPC_URL: `127.0.0.1:${portA}` },
        { TRANSPORT: 'grpc', GRPC_URL: `127.0.0.1:${portB}` },
        () => [produce((id) => withFailover((c) => sum(c, id), a, b)), produce((id) => withFailover((c) => count(c, id), a, b), 1_000_000)],
        'message-done',
        () => true,
      );
      const [unary, streams] = run.produced;
      expect(run.exitA).toEqual(CLEAN);
      expect(run.exitB).toEqual(CLEAN);
      expect([...ids(run.a.app, 'pool-error'), ...ids(run.b.app, 'pool-error')]).toEqual([]);
      expect(unary.failed).toEqual([]);
      expect(streams.failed).toEqual([]);
      const handled = [...ids(run.a.app, 'message-done'), ...ids(run.b.app, 'message-done')];
      expect(repeated(handled)).toEqual([]);
      expect(handled.sort((x, y) => x - y)).toEqual(unary.ok.sort((x, y) => x - y));
      const streamed = [...ids(run.a.app, 'stream-done'), ...ids(run.b.app, 'stream-done')];
      expect(repeated(streamed)).toEqual([]);
      expect(streamed.length).toBe(streams.ok.length);
      expect(row(run.a.reportFile, 'gRPC microservice')).toMatchObject({ outcome: 'ok', stillRunning: 0 });
      expect(ids(run.a.app, 'message-done').length).toBeGreaterThan(0);
    } finally {
      a.close();
      b.close();
    }
  });
});
