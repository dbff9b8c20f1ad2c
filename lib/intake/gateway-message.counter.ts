/**
 * The `@SubscribeMessage()` handlers of WebSocket gateways, on
 * @nestjs/platform-ws and @nestjs/platform-socket.io: each message a client
 * sends is counted from the moment Nest hands it to its handler (guards,
 * pipes and interceptors included) until its reply or ack has been written
 * to the client. The drain waits for them before it closes the sockets, so
 * that no reply is lost and no handler runs on after the hooks.
 *
 * Counted where every adapter gets its handlers: the adapter's
 * `bindMessageHandlers(client, handlers, transform)`, wrapped on the
 * adapter instance the application uses. A client the drain is closing is
 * gated: a message it still reads is not given to a handler (its client sees
 * no reply and sends it again to the instance it reconnects to).
 */
import { isObservable, Observable } from 'rxjs';
import type { IntakeSource } from './intake.source.js';
import { InFlight } from './intake.source.js';

/** A handler as Nest hands it to the adapter, bound to its client. */
interface MessageHandler {
  message: unknown;
  callback: (...args: unknown[]) => unknown;
}
/** What the counter uses of a WebSocket adapter (`AbstractWsAdapter`). */
interface MessageAdapter {
  bindMessageHandlers(client: unknown, handlers: MessageHandler[], transform: (data: unknown) => unknown): unknown;
}

const COUNTED = Symbol('nestjs-graceful.gateway-messages');

export class GatewayMessages implements IntakeSource {
  readonly name = 'WebSocket gateway handlers';
  readonly kind = 'websocket' as const;
  readonly unit = 'message';
  private readonly inFlight = new InFlight();
  private readonly gated = new WeakSet<object>();
  /** Whether an adapter was found: without one there is nothing to count. */
  watching = false;

  /** Counts the handlers of `adapter` from now on; an adapter counted already is left as it is. */
  watch(adapter: unknown): void {
    const target = adapter as (MessageAdapter & { [COUNTED]?: GatewayMessages }) | undefined;
    if (!target || typeof target.bindMessageHandlers !== 'function' || target[COUNTED]) return;
    target[COUNTED] = this;
    this.watching = true;
    const bind = target.bindMessageHandlers.bind(target);
    target.bindMessageHandlers = (client, handlers, transform) =>
      bind(client, Array.isArray(handlers) ? handlers.map((handler) => ({ ...handler, callback: this.count(client, handler.callback) })) : handlers, transform);
  }

  /** The client's messages no longer reach a handler (socket.io: `client.conn` may be the one gated). */
  gate(client: object): void {
    this.gated.add(client);
  }

  /** Resolves once no handler runs, or `signal` aborts. */
  settled(signal: AbortSignal): Promise<void> {
    return this.inFlight.settled(signal);
  }

  async drain(signal: AbortSignal): Promise<void> {
    this.inFlight.startCounting();
    await this.inFlight.settled(signal);
  }

  finished(): number {
    return this.inFlight.finished;
  }

  running(): number {
    return this.inFlight.size;
  }

  private refuses(client: unknown): boolean {
    if (!client || typeof client !== 'object') return false;
    const conn = (client as { conn?: unknown }).conn;
    return this.gated.has(client) || (Boolean(conn) && typeof conn === 'object' && this.gated.has(conn as object));
  }

  /**
   * `callback` counted until what it returns has been delivered: Nest turns
   * its result (a promise, of a value or of an Observable when interceptors
   * run) into an Observable whose values the adapter writes to the client
   * synchronously as they come. So a value is written within the microtasks
   * that follow the promise; an Observable is written as it completes.
   */
  private count(client: unknown, callback: MessageHandler['callback']): MessageHandler['callback'] {
    if (typeof callback !== 'function') return callback;
    return (...args: unknown[]) => {
      // Not taken: no handler runs, nothing is sent back (the adapter drops an undefined result).
      if (this.refuses(client)) return undefined;
      this.inFlight.enter();
      let left = false;
      // After every microtask: the reply has been handed to the socket by then.
      const leave = () =>
        setImmediate(() => {
          if (left) return;
          left = true;
          this.inFlight.leave();
        });
      let result: unknown;
      try {
        result = callback(...args);
      } catch (error) {
        leave();
        throw error;
      }
      return Promise.resolve(result).then(
        (value) => {
          if (!isObservable(value)) {
            leave();
            return value;
          }
          // Runs (the handler, with interceptors) once subscribed; not subscribed by then, it never will be.
          let subscribed = false;
          setImmediate(() => {
            if (!subscribed) leave();
          });
          return new Observable((subscriber) => {
            subscribed = true;
            const subscription = value.subscribe(subscriber);
            subscription.add(leave);
            return subscription;
          });
        },
        (error: unknown) => {
          leave();
          throw error;
        },
      );
    };
  }
}
