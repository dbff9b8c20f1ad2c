/**
 * @nestjs/microservices: every server, of a hybrid application
 * (`connectMicroservice()`) or a standalone one (`createMicroservice()`).
 * The message and event handlers in progress are counted from the start;
 * at the drain each server stops receiving, its handlers finish, and it is
 * closed. Nest's own later `close()` then gets the same close and never a
 * rejection, so a transport that rejects a second close (Redis) no longer fails the shutdown.
 */
import { isObservable, finalize, type Observable } from 'rxjs';
import type { IntakeSource } from './intake.source.js';
import { InFlight } from './intake.source.js';
import type { IntakeIntegration } from './intake.context.js';

/** What the module uses of a `Server` of @nestjs/microservices. */
interface MicroserviceServer {
  transportId?: unknown;
  getHandlerByPattern(pattern: string): Handler | null;
  close(): unknown;
  // Per transport, where the server keeps its connection.
  subClient?: { unsubscribe?(): unknown; punsubscribe?(): unknown };
  server?: { close?(): unknown };
  openSockets?: Set<{ pause?(): unknown }>;
}
type Handler = ((...args: unknown[]) => Promise<unknown>) & { isEventHandler?: boolean };

const TRACKED = Symbol('nestjs-graceful.microservice');

/** The transports Nest ships, by `transportId` (`Transport` of @nestjs/microservices). */
const TRANSPORT_NAMES: Record<number, string> = { 0: 'TCP', 1: 'Redis', 2: 'NATS', 3: 'MQTT', 4: 'gRPC', 5: 'RabbitMQ', 6: 'Kafka' };

class ServerIntake implements IntakeSource {
  readonly kind = 'microservice' as const;
  readonly unit = 'message';
  readonly name: string;
  readonly inFlight = new InFlight();
  private closed?: Promise<void>;
  private readonly closeOnce: () => Promise<void>;
  private readonly counted = new WeakMap<Handler, Handler>();

  constructor(private readonly server: MicroserviceServer) {
    const transport = typeof server.transportId === 'number' ? TRANSPORT_NAMES[server.transportId] : undefined;
    this.name = `${transport ?? server.constructor?.name ?? 'custom'} microservice`;
    const lookup = server.getHandlerByPattern.bind(server);
    server.getHandlerByPattern = (pattern) => {
      const handler = lookup(pattern);
      return handler ? this.count(handler) : handler;
    };
    const close = server.close.bind(server);
    this.closeOnce = () =>
      (this.closed ??= Promise.resolve()
        .then(close)
        .then(() => undefined));
    // Closed once: the drain closes it (and reports a failure); Nest's dispose() gets the same close, never a rejection.
    server.close = () => this.closeOnce().catch(() => undefined);
  }

  /** The handler, counted while it runs and while the stream it returns is open. */
  private count(handler: Handler): Handler {
    let wrapped = this.counted.get(handler);
    if (!wrapped) {
      const inFlight = this.inFlight;
      wrapped = new Proxy(handler, {
        async apply(target, thisArg, args) {
          inFlight.enter();
          let result: unknown;
          try {
            result = await Reflect.apply(target, thisArg, args);
          } catch (error) {
            inFlight.leave();
            throw error;
          }
          if (!isObservable(result)) {
            inFlight.leave();
            return result;
          }
          return (result as Observable<unknown>).pipe(finalize(() => inFlight.leave()));
        },
      });
      this.counted.set(handler, wrapped);
    }
    return wrapped;
  }

  async drain(signal: AbortSignal): Promise<void> {
    this.inFlight.startCounting();
    await this.pause();
    await this.inFlight.settled(signal);
    if (signal.aborted) return;
    await this.closeOnce();
  }

  /** Stops receiving where the transport allows it without losing the replies of handlers in progress. */
  private async pause(): Promise<void> {
    const { server } = this;
    switch (server.transportId) {
      case 1: // Redis: leave the channels; the publisher connection stays for replies.
        await Promise.all([server.subClient?.unsubscribe?.(), server.subClient?.punsubscribe?.()]);
        return;
      case 0: // TCP: stop accepting, stop reading from the clients connected.
        server.server?.close?.();
        server.openSockets?.forEach((socket) => socket.pause?.());
        return;
      default:
        // Other transports stop receiving when closed, once their handlers in progress have ended.
        return;
    }
  }

  finished(): number {
    return this.inFlight.finished;
  }

  running(): number {
    return this.inFlight.size;
  }
}

export class MicroserviceIntegration implements IntakeIntegration {
  private readonly servers: ServerIntake[] = [];

  /** Every server Nest creates for this application; subscribed at startup, before any can receive. */
  addServer(server: unknown): void {
    const candidate = server as MicroserviceServer & { [TRACKED]?: ServerIntake };
    if (!candidate || typeof candidate.getHandlerByPattern !== 'function' || typeof candidate.close !== 'function') return;
    candidate[TRACKED] ??= new ServerIntake(candidate);
    if (!this.servers.includes(candidate[TRACKED])) this.servers.push(candidate[TRACKED]);
  }

  sources(): IntakeSource[] {
    return this.servers;
  }
}
