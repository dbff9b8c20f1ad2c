/**
 * The drain of a microservice server, on servers of the shape of
 * @nestjs/microservices' (the same fields, the same calls): Kafka, whose
 * broker cannot run here, a custom strategy, and a reply the transport
 * refuses. The real transports are tested against real brokers in
 * test/e2e/transports.e2e.spec.ts.
 */
import { drainIntake } from '../../lib/drain/traffic.drain.js';
import { WorkTracker } from '../../lib/drain/work.tracker.js';
import { MicroserviceIntegration } from '../../lib/intake/microservice.intake.js';
import { exitCodeOf } from '../../lib/report/shutdown-report.builder.js';

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/** A promise and the function that settles it. */
function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A server as Nest's `Server` is: handlers in `messageHandlers`, each message through `handleMessage`, replies through `send`. */
class FakeServer {
  readonly calls: string[] = [];
  readonly messageHandlers = new Map<string, (data: unknown) => Promise<unknown>>();
  constructor(readonly transportId: unknown) {}
  async handleMessage(pattern: string, data: unknown): Promise<void> {
    const handler = this.messageHandlers.get(pattern)!;
    await handler(data);
  }
  close(): void {
    this.calls.push('close');
  }
}

async function drainAll(integration: MicroserviceIntegration, timeoutMs = 5000) {
  return drainIntake(undefined, new WorkTracker(), integration.sources(), timeoutMs, new AbortController().signal, silent, () => undefined);
}

describe('the drain of a microservice server', () => {
  it('Kafka: pauses its topics, lets the handler in progress finish, stops the consumer (committing), then closes once', async () => {
    const server = new FakeServer(6);
    const work = deferred();
    server.messageHandlers.set('orders', async () => {
      server.calls.push('handler-start');
      await work.promise;
      server.calls.push('handler-end');
    });
    Object.assign(server, {
      consumer: {
        pause: (topics: Array<{ topic: string }>) => server.calls.push(`pause:${topics.map((t) => t.topic).join()}`),
        stop: async () => void server.calls.push('stop'),
      },
    });
    const integration = new MicroserviceIntegration();
    integration.addServer(server);
    const message = server.handleMessage('orders', {});
    const drained = drainAll(integration);
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.calls).toEqual(['handler-start', 'pause:orders']);
    work.resolve();
    const { intake } = await drained;
    await message;
    expect(server.calls).toEqual(['handler-start', 'pause:orders', 'handler-end', 'stop', 'close']);
    expect(intake[0]).toMatchObject({ name: 'Kafka microservice', outcome: 'ok', finished: 1, stillRunning: 0 });
    // Nest's own close later: the same close, not a second one.
    await server.close();
    expect(server.calls.filter((call) => call === 'close')).toHaveLength(1);
  });

  it('a custom strategy: its handlers are counted and awaited, and it is closed once they end', async () => {
    class CustomStrategy extends FakeServer {}
    const server = new CustomStrategy(Symbol('custom'));
    const work = deferred();
    server.messageHandlers.set('job', () => work.promise);
    const integration = new MicroserviceIntegration();
    integration.addServer(server);
    void server.handleMessage('job', {});
    const drained = drainAll(integration);
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.calls).toEqual([]);
    work.resolve();
    const { intake } = await drained;
    expect(intake[0]).toMatchObject({ name: 'CustomStrategy microservice', outcome: 'ok', finished: 1 });
    expect(server.calls).toEqual(['close']);
  });

  it('a handler still running at the drain timeout leaves the server unclosed by the drain, is reported as still running, and the exit code is 1', async () => {
    const server = new FakeServer(Symbol('custom'));
    server.messageHandlers.set('job', () => new Promise(() => undefined));
    const integration = new MicroserviceIntegration();
    integration.addServer(server);
    void server.handleMessage('job', {});
    const { intake } = await drainAll(integration, 20);
    expect(intake[0]).toMatchObject({ outcome: 'timeout', stillRunning: 1 });
    expect(server.calls).toEqual([]);
    expect(exitCodeOf({ deadlineExceeded: false, sequenceFailed: false, exitCalls: [], hooks: [], intake })).toBe(1);
  });

  it('a reply the transport refuses is counted as lost: the row fails and the exit code is 1, never ok', async () => {
    const server = Object.assign(new FakeServer(5), {
      // RabbitMQ's channel wrapper: Nest drops the promise of each reply.
      channel: { sendToQueue: () => Promise.reject(new Error('Channel closed')), _channel: { consumers: new Map(), cancel: async () => undefined } },
    });
    server.messageHandlers.set('sum', async () => {
      void (server.channel.sendToQueue as () => Promise<void>)();
    });
    const integration = new MicroserviceIntegration();
    integration.addServer(server);
    await server.handleMessage('sum', {});
    const { intake } = await drainAll(integration);
    expect(intake[0]).toMatchObject({ name: 'RabbitMQ microservice', outcome: 'error', lost: 1 });
    expect(intake[0].error).toContain('1 message(s) taken were not delivered');
    expect(exitCodeOf({ deadlineExceeded: false, sequenceFailed: false, exitCalls: [], hooks: [], intake })).toBe(1);
  });
});
