/**
 * Row 10: a rolling restart of each microservice transport under load
 * (test/fixtures/transport.app.ts: one consumer, a pool that fails once
 * closed), the module set up as the README says against the same app in
 * plain Nest. Real brokers on 127.0.0.1, producers every 5 ms through the
 * restart: a new instance starts, the old one gets SIGTERM (plain Nest is
 * killed at the grace period, as a kubelet would), the new one takes the
 * backlog. Counts the units of work that failed (on the closed pool, or at
 * the client), were lost (sent, never handled), or handled twice.
 */
import { Logger } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { AppProcess } from '../support/app-process.js';
import { startMosquitto, startNats, startRabbitMq, type Broker } from '../support/brokers.js';
import { freePort } from '../support/redis.js';
import {
  events,
  grpcClient,
  grpcSum,
  ids,
  nestClient,
  produce,
  repeated,
  requests,
  withFailover,
  type Produced,
  type WorkClient,
} from '../support/transport-load.js';

export interface TransportRun {
  failed: number;
  lost: number;
  duplicated: number;
  sent: number;
  exitMs: number;
  exit: string;
}

export type TransportCase = 'rmq' | 'nats' | 'mqtt' | 'grpc';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One restart of `transport` in `mode`, on `broker` (none for gRPC). */
async function restart(transport: TransportCase, broker: Broker | undefined, plain: boolean, { steadyMs, graceMs }: { steadyMs: number; graceMs: number }) {
  const queue = `bench-${Math.random().toString(36).slice(2)}`;
  const [portA, portB] = await Promise.all([freePort(), freePort()]);
  const base = { TRANSPORT: transport, BROKER_URL: broker?.url ?? '', QUEUE: queue, NATS_QUEUE: 'workers', ...(plain ? { PLAIN: '1' } : {}) };
  const envA = { ...base, GRPC_URL: `127.0.0.1:${portA}` };
  const envB = { ...base, GRPC_URL: `127.0.0.1:${portB}` };
  let client: ClientProxy | undefined;
  let grpc: [WorkClient, WorkClient] | undefined;
  let producers: Array<{ stop(): Promise<Produced> }>;
  const old = new AppProcess('transport.app.js', envA);
  await old.event('listening');
  if (transport === 'grpc') {
    const [a, b] = (grpc = [grpcClient(portA), grpcClient(portB)]);
    producers = [produce((id) => withFailover((c) => grpcSum(c, id), a, b))];
  } else {
    client = nestClient(transport, broker!.url, queue);
    await client.connect();
    producers = [events(client), requests(client)];
  }
  await pause(steadyMs);
  const fresh = new AppProcess('transport.app.js', envB);
  await fresh.event('listening');
  const signalled = performance.now();
  old.signal('SIGTERM');
  const killer = setTimeout(() => old.signal('SIGKILL'), graceMs);
  const exited = await old.exited;
  const exitMs = performance.now() - signalled;
  clearTimeout(killer);
  await pause(steadyMs / 2);
  const produced = await Promise.all(producers.map((producer) => producer.stop()));
  const doneType = transport === 'grpc' ? 'message-done' : 'event-done';
  const handled = () => [...ids(old, doneType), ...ids(fresh, doneType)];
  const expected = produced[0].ok;
  // The new instance takes what the broker kept (RabbitMQ's queue); bounded, as a lost message never comes.
  await Promise.race([fresh.until(() => expected.every((id) => handled().includes(id)), 'backlog handled'), pause(10_000)]);
  fresh.signal('SIGTERM');
  await fresh.exited;
  await client?.close();
  grpc?.forEach((c) => c.close());
  const all = handled();
  const seen = new Set(all);
  return {
    failed: old.events.filter((e) => e.type === 'pool-error').length + produced.reduce((n, p) => n + p.failed.length, 0),
    lost: expected.filter((id) => !seen.has(id)).length,
    // MQTT and NATS without a queue group deliver every message to every subscriber: only queues count duplicates.
    duplicated: transport === 'mqtt' ? 0 : repeated(all).length,
    sent: produced.reduce((n, p) => n + p.sent.length, 0),
    exitMs,
    exit: exited.signal ? `killed (${exited.signal})` : `exit ${exited.code}`,
  } satisfies TransportRun;
}

const BROKERS: Record<Exclude<TransportCase, 'grpc'>, () => Promise<Broker>> = { rmq: startRabbitMq, nats: startNats, mqtt: startMosquitto };

/** Both modes of `transport`, on one broker started for them. */
export async function transportRestart(
  transport: TransportCase,
  options: { steadyMs: number; graceMs: number },
): Promise<{ graceful: TransportRun; plain: TransportRun }> {
  Logger.overrideLogger(false);
  const broker = transport === 'grpc' ? undefined : await BROKERS[transport]();
  try {
    const graceful = await restart(transport, broker, false, options);
    const plain = await restart(transport, broker, true, options);
    return { graceful, plain };
  } finally {
    await broker?.stop();
  }
}
