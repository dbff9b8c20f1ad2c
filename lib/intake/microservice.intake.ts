/**
 * @nestjs/microservices: every server, of a hybrid application
 * (`connectMicroservice()`) or a standalone one (`createMicroservice()`),
 * custom strategies built on `Server` included. From the server's creation
 * on, every message is counted from its arrival until its handler, the
 * stream it returned and its reply have ended. At the drain the server stops
 * receiving with its transport's own primitive (lib/intake/transports/),
 * then the messages it took finish and their replies are delivered, then it
 * is closed once. Nest's own later `close()` gets the same close and never a
 * rejection, so a transport that rejects a second close (Redis) no longer
 * fails the shutdown.
 *
 * At startup, readiness waits for each server to listen: the callback Nest
 * hands to the server's `listen()` (every transport, custom ones included,
 * calls it once it takes messages: a RabbitMQ channel consuming, a NATS or
 * Redis subscription made, a Kafka consumer running, a TCP or gRPC port
 * bound). A server that is never started holds readiness down.
 */
import { isObservable, finalize, type Observable } from 'rxjs';
import type { IntakeSource } from './intake.source.js';
import { InFlight } from './intake.source.js';
import { untilAborted } from '../shutdown/abortable-delay.js';
import type { IntakeIntegration } from './intake.context.js';
import { transportOf, type MicroserviceServer, type ReplyTracker, type TransportStop } from './transports/index.js';

type Handler = ((...args: unknown[]) => Promise<unknown>) & { isEventHandler?: boolean };
/** One packet of a reply stream, as `Server.send()` hands it to the transport; the last one is `isDisposed`. */
type ReplyPacket = { isDisposed?: boolean } | undefined;
type Respond = (packet: ReplyPacket) => unknown;

const TRACKED = Symbol('nestjs-graceful.microservice');

class ServerIntake implements IntakeSource, ReplyTracker {
  readonly kind = 'microservice' as const;
  readonly unit = 'message';
  readonly name: string;
  /** Messages from their arrival until the transport's handling of them has returned. */
  private readonly received = new InFlight();
  /** What outlives that: streams a handler returned, replies on their way out. */
  private readonly outgoing = new InFlight();
  private lostReplies = 0;
  private closed?: Promise<void>;
  private readonly transport: TransportStop;
  private readonly originalClose: () => unknown;
  private readonly counted = new WeakMap<Handler, Handler>();
  /** Set once the server's `listen()` has called back without an error. */
  private listening = false;
  private readonly whenListening: Array<() => void> = [];

  constructor(private readonly server: MicroserviceServer) {
    this.transport = transportOf(server);
    this.name = `${this.transport.name} microservice`;
    // Every transport but gRPC hands each message to handleMessage(); gRPC calls its handlers directly.
    const receives = typeof server.handleMessage === 'function';
    if (receives) this.countArrivals();
    this.countHandlers(receives ? this.outgoing : this.received);
    this.countReplies();
    this.watchListen();
    this.originalClose = server.close.bind(server);
    // Closed once: the drain closes it (and reports a failure); Nest's dispose() gets the same close, never a rejection.
    server.close = () => this.closeOnce().catch(() => undefined);
  }

  /** Its `listen()` callback, called once the server takes messages (or with the error that stopped it). */
  private watchListen(): void {
    const { server } = this;
    if (typeof server.listen !== 'function') {
      this.listening = true;
      return;
    }
    const listen = (server.listen as (callback: (...args: unknown[]) => unknown) => unknown).bind(server);
    server.listen = (callback: (...args: unknown[]) => unknown) =>
      listen((...args: unknown[]) => {
        if (args[0] === undefined || args[0] === null) this.listened();
        return typeof callback === 'function' ? callback(...args) : undefined;
      });
  }

  private listened(): void {
    this.listening = true;
    for (const resolve of this.whenListening.splice(0)) resolve();
  }

  /** Once the server listens: started (`startAllMicroservices()`, `listen()`) and connected to its broker. */
  connected(signal: AbortSignal): Promise<void> | undefined {
    if (this.listening) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        const at = this.whenListening.indexOf(done);
        if (at >= 0) this.whenListening.splice(at, 1);
        resolve();
      };
      this.whenListening.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** From the moment a message arrives (before it is decoded) until the transport has handled it. */
  private countArrivals(): void {
    const { server } = this;
    const handleMessage = (server.handleMessage as (...args: unknown[]) => unknown).bind(server);
    server.handleMessage = (...args: unknown[]) => {
      this.transport.watch?.(server, this);
      return this.received.around(() => handleMessage(...args));
    };
  }

  /** Every handler the server looks up, counted while it runs and while the stream it returns is open. */
  private countHandlers(inFlight: InFlight): void {
    const handlers = this.server.messageHandlers;
    if (!handlers) return;
    const get = handlers.get.bind(handlers);
    handlers.get = (pattern: string) => {
      const handler = get(pattern) as Handler | undefined;
      return typeof handler === 'function' ? this.count(handler, inFlight) : handler;
    };
  }

  private count(handler: Handler, inFlight: InFlight): Handler {
    let wrapped = this.counted.get(handler);
    if (!wrapped) {
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

  /** A reply stream (`Server.send()`) is counted until its last packet has been handed to the transport. */
  private countReplies(): void {
    const { server } = this;
    if (typeof server.send !== 'function') return;
    const send = (server.send as (stream: unknown, respond: Respond) => unknown).bind(server);
    server.send = (stream: unknown, respond: Respond) => {
      this.outgoing.enter();
      return send(stream, async (packet: ReplyPacket) => {
        try {
          return await respond(packet);
        } catch (error) {
          this.lostReplies++;
          throw error;
        } finally {
          if (packet?.isDisposed) this.outgoing.leave();
        }
      });
    };
  }

  /** ReplyTracker: a publish the transport does not await, counted until the broker has it. */
  around<T>(reply: T): T {
    if (!(reply instanceof Promise)) return reply;
    this.outgoing.enter();
    reply.then(
      () => this.outgoing.leave(),
      () => {
        this.lostReplies++;
        this.outgoing.leave();
      },
    );
    return reply;
  }

  async drain(signal: AbortSignal): Promise<void> {
    this.received.startCounting();
    let stopFailed: { error: unknown } | undefined;
    // A transport that cannot stop receiving is reported; what it took is still awaited and closed.
    await untilAborted(this.transport.stopReceiving(this.server), signal, (error) => (stopFailed = { error }));
    while ((this.received.size > 0 || this.outgoing.size > 0) && !signal.aborted) {
      await this.received.settled(signal);
      await this.outgoing.settled(signal);
    }
    if (signal.aborted) return;
    // What the handlers left to send goes out before the close; a flush the peer holds up is left at the drain's end.
    await untilAborted(Promise.resolve(this.transport.flush?.(this.server)), signal);
    if (signal.aborted) return;
    await this.closeOnce();
    if (stopFailed) throw stopFailed.error;
  }

  private closeOnce(): Promise<void> {
    return (this.closed ??= Promise.resolve()
      .then(() => this.transport.close?.(this.server))
      .then(this.originalClose)
      .then(() => undefined));
  }

  finished(): number {
    return this.received.finished;
  }

  /** Messages not finished: received and not handled, or handled with their stream or reply still going out (each counted once). */
  running(): number {
    return Math.max(this.received.size, this.outgoing.size);
  }

  lost(): number {
    return this.lostReplies;
  }
}

export class MicroserviceIntegration implements IntakeIntegration {
  private readonly servers: ServerIntake[] = [];

  /** Every server Nest creates for this application; subscribed at startup, before any can receive. */
  addServer(server: unknown): void {
    const candidate = server as MicroserviceServer & { [TRACKED]?: ServerIntake };
    if (!candidate || typeof candidate.close !== 'function' || !(candidate.messageHandlers instanceof Map)) return;
    candidate[TRACKED] ??= new ServerIntake(candidate);
    if (!this.servers.includes(candidate[TRACKED])) this.servers.push(candidate[TRACKED]);
  }

  sources(): IntakeSource[] {
    return this.servers;
  }
}
