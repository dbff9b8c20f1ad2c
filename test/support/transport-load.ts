/**
 * Load for the microservice transports, shared by the end-to-end tests and
 * the benchmark: producers that send every 5 ms without waiting for the last
 * answer, Nest's clients for RabbitMQ, NATS and MQTT, a grpc-js client of
 * the fixture's `Work` service, and the counts read from what each instance
 * reported.
 */
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { credentials, loadPackageDefinition, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { firstValueFrom, timeout } from 'rxjs';
import { writeProto } from '../fixtures/work.proto.js';
import type { AppProcess } from './app-process.js';

/** The ids an instance reported for `type`. */
export function ids(app: AppProcess, type: string): number[] {
  return app.events.filter((e) => e.type === type).map((e) => Number(e.id));
}

/** Ids that occur more than once in `all`. */
export function repeated(all: number[]): number[] {
  const seen = new Set<number>();
  return all.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
}

export interface Produced {
  sent: number[];
  ok: number[];
  failed: Array<{ id: number; error: string }>;
}

/** Sends one unit every 5 ms without waiting for the last one, until stopped; then waits for every answer. */
export function produce(send: (id: number) => Promise<unknown>, firstId = 0): { stop(): Promise<Produced> } {
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

export function nestClient(transport: 'rmq' | 'nats' | 'mqtt', url: string, queue?: string): ClientProxy {
  if (transport === 'rmq') return ClientProxyFactory.create({ transport: Transport.RMQ, options: { urls: [url], queue: queue ?? 'work' } });
  if (transport === 'nats') return ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [url] } });
  return ClientProxyFactory.create({ transport: Transport.MQTT, options: { url } });
}

export function events(client: ClientProxy, firstId = 0) {
  return produce((id) => firstValueFrom(client.emit('evt', { id }), { defaultValue: undefined }), firstId);
}

export function requests(client: ClientProxy, firstId = 1_000_000) {
  return produce((id) => firstValueFrom(client.send<number>('sum', { id }).pipe(timeout(20_000))), firstId);
}

export type Call = (request: object, callback: (error: ServiceError | null, reply?: { id: number }) => void) => void;
export interface WorkClient {
  Sum: Call;
  Count(request: object): NodeJS.EventEmitter;
  close(): void;
}

export function grpcClient(port: number): WorkClient {
  const definition = loadPackageDefinition(loadSync(writeProto())) as unknown as {
    work: { Work: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => WorkClient };
  };
  return new definition.work.Work(`127.0.0.1:${port}`, credentials.createInsecure());
}

export function grpcSum(client: WorkClient, id: number): Promise<number> {
  return new Promise((resolve, reject) => client.Sum({ id }, (error, reply) => (error ? reject(error) : resolve(reply!.id))));
}

export function grpcCount(client: WorkClient, id: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const items: number[] = [];
    const call = client.Count({ id, n: 3 });
    call.on('data', (item: { id: number }) => items.push(item.id));
    call.on('error', (error: ServiceError) => reject(Object.assign(error, { items: items.length })));
    call.on('end', () => resolve(items));
  });
}

/** A call that A refused before taking it (UNAVAILABLE, nothing received) goes to B, as a client's retry policy would. */
export function withFailover<T>(call: (client: WorkClient) => Promise<T>, a: WorkClient, b: WorkClient): Promise<T> {
  return call(a).catch((error: ServiceError & { items?: number }) => {
    if (error.code === GrpcStatus.UNAVAILABLE && !error.items) return call(b);
    throw error;
  });
}
