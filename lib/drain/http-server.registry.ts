/**
 * Every HTTP server whose requests the drain waits for: the application's
 * own (`getHttpServer()`), the servers an Express application is served
 * through without `app.listen()` (Nest's "multiple servers" recipe:
 * `http.createServer(expressApp)`, found at their first request), and the
 * servers handed to `drainServer()` (a metrics server beside Nest). Each has
 * its own `HttpDrain`; they drain at once, one row each.
 *
 * Finding the recipe's servers costs one comparison per request: the
 * Express application's `handle` (what every server created from it calls)
 * looks at the server of the request's socket.
 */
import type { DrainReport } from '../interfaces/shutdown-report.interface.js';
import { HttpDrain, type DrainableServer } from './http.drain.js';

type Response = Parameters<HttpDrain['closeAfter']>[0];
type Request = Parameters<HttpDrain['adopt']>[0];
type Listener = (...args: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
type Events = Pick<NodeJS.EventEmitter, 'prependListener' | 'removeListener'>;

/** An Express application, as far as this file needs it: what `http.createServer(app)` calls for each request. */
interface HandlerApp {
  handle(request: Request, response: Response, next?: unknown): unknown;
}

interface Entry {
  drain: HttpDrain;
  /** Served by the application's handler (its own server, or one created from its handler): readiness goes up when one listens. */
  app: boolean;
}

export class HttpServerRegistry {
  /** `late`: told the name of a server found after the drain ended (it is closed at once; its request was not drained). */
  constructor(private readonly late: (name: string) => void = () => undefined) {}

  private readonly entries = new Map<object, Entry>();
  private readonly closeWhenDone = new WeakSet<Response>();
  private main?: HttpDrain;
  private handler?: unknown;
  private unwatch?: () => void;
  private closingKeepAlive = false;
  /** Set while the drain runs: a server found now is drained at once. */
  private draining?: (drain: HttpDrain) => void;
  /** Set once the drain is over: a server found now is closed at once. */
  private drained = false;
  /** Called once when the application serves; armed after `init()`. */
  private onServing?: () => void;
  /** The 'listening' listeners `whenServing` left on servers not listening yet, removed at `release()`. */
  private readonly listeningWatches: Array<() => void> = [];
  /** Told of every server, those found later included (see `each`). */
  private readonly watchers: Array<(server: DrainableServer, name: string) => void> = [];
  /** Listeners added through `events` (the readiness delay's traffic watch), for servers found later. */
  private readonly shared = new Map<string | symbol, Set<Listener>>();

  /** The application's own server and its request handler (the Express application, when it is one). */
  setMain(server: DrainableServer, handler: unknown): HttpDrain {
    this.handler = handler;
    // Servers handed over before the application was known: served by it?
    for (const [known, entry] of this.entries) entry.app ||= handler !== undefined && listenersOf(known as DrainableServer, 'request').includes(handler);
    this.main = this.add(server, 'HTTP', true);
    this.watchHandler(handler);
    return this.main;
  }

  /**
   * A server the drain must stop too. Served by the application's handler
   * (its 'request' listener is the application), it counts as one of the
   * application's servers. Adding one twice, or the application's own, does nothing.
   */
  add(server: DrainableServer, name?: string, app = false): HttpDrain {
    const known = this.entries.get(server);
    if (known) return known.drain;
    const servedByApp = app || (this.handler !== undefined && listenersOf(server, 'request').includes(this.handler));
    const drain = new HttpDrain(server, name, this.closeWhenDone);
    this.entries.set(server, { drain, app: servedByApp });
    drain.attach();
    for (const watcher of this.watchers) watcher(server, drain.name);
    for (const [event, listeners] of this.shared) for (const listener of listeners) (server as unknown as NodeJS.EventEmitter).prependListener(event, listener);
    if (this.closingKeepAlive) drain.closeKeepAlive();
    if (this.drained) {
      // Named while it still has an address.
      this.late(drain.name);
      server.close(() => undefined);
    } else if (drain.serving) this.draining?.(drain);
    if (servedByApp && this.onServing) this.watchListening(server);
    return drain;
  }

  /** Calls `watcher` for every server drained: those known now, and each found later, as it is found. */
  each(watcher: (server: DrainableServer, name: string) => void): void {
    this.watchers.push(watcher);
    for (const [server, { drain }] of this.entries) watcher(server as DrainableServer, drain.name);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether any server serves (listens, or has connections): the drain then has HTTP rows. */
  get serving(): boolean {
    return [...this.entries.values()].some(({ drain }) => drain.serving);
  }

  /** The names of the servers known so far, for the startup log (those found at their first request come later). */
  names(): string[] {
    return [...this.entries.values()].map(({ drain }) => drain.name);
  }

  /**
   * `ready` is called once, when a server the application serves through
   * listens (now, or later): its own (`app.listen()`, or its own `listen()`),
   * one found at its first request, or one handed to `drainServer()`. The
   * server's own 'listening' event says so: no Nest observable is
   * subscribed at startup.
   */
  whenServing(ready: () => void): void {
    const appServers = [...this.entries].filter(([, entry]) => entry.app).map(([server]) => server as DrainableServer);
    if (appServers.some((server) => server.listening)) return ready();
    let called = false;
    this.onServing = () => {
      if (called) return;
      called = true;
      this.onServing = undefined;
      ready();
    };
    for (const server of appServers) this.watchListening(server);
  }

  closeKeepAlive(): void {
    this.closingKeepAlive = true;
    for (const { drain } of this.entries.values()) drain.closeKeepAlive();
  }

  /** See `HttpDrain.closeAfter`: for a response on any of the servers. */
  closeAfter(response: Response): void {
    this.closeWhenDone.add(response);
  }

  /** Adds and removes a listener on every server, those found later included (for the traffic watch). */
  readonly events: Events = {
    prependListener: (event: string | symbol, listener: Listener) => {
      if (!this.shared.has(event)) this.shared.set(event, new Set());
      this.shared.get(event)!.add(listener);
      for (const server of this.entries.keys()) (server as NodeJS.EventEmitter).prependListener(event, listener);
      return this.events as NodeJS.EventEmitter;
    },
    removeListener: (event: string | symbol, listener: Listener) => {
      this.shared.get(event)?.delete(listener);
      for (const server of this.entries.keys()) (server as NodeJS.EventEmitter).removeListener(event, listener);
      return this.events as NodeJS.EventEmitter;
    },
  };

  /**
   * Drains every server that serves, all at once (a server that never
   * listened is left out), and those found while the drain runs; `each`
   * drains one and says what it did. Resolves with one report per server.
   */
  async drain(each: (drain: HttpDrain) => Promise<DrainReport>): Promise<DrainReport[]> {
    const running: Array<Promise<DrainReport>> = [];
    for (const { drain } of this.entries.values()) if (drain.serving) running.push(each(drain));
    this.draining = (drain) => running.push(each(drain));
    const reports: DrainReport[] = [];
    // The list may grow while it is awaited.
    for (let i = 0; i < running.length; i++) reports.push(await running[i]);
    this.draining = undefined;
    this.drained = true;
    return reports;
  }

  release(): void {
    this.unwatch?.();
    for (const { drain } of this.entries.values()) drain.detach();
    this.onServing = undefined;
    for (const unwatch of this.listeningWatches.splice(0)) unwatch();
  }

  private watchListening(server: DrainableServer): void {
    const onListening = () => this.onServing?.();
    if (server.listening) return onListening();
    const events = server as unknown as NodeJS.EventEmitter;
    events.once('listening', onListening);
    this.listeningWatches.push(() => events.removeListener('listening', onListening));
  }

  /** Wraps an Express application's `handle`, which every server created from it calls for each request. */
  private watchHandler(handler: unknown): void {
    const app = handler as Partial<HandlerApp> | undefined;
    if (typeof handler !== 'function' || typeof app?.handle !== 'function') return;
    const original = app.handle;
    const main = this.main!.server;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const registry = this;
    const handle = function (this: unknown, request: Request, response: Response, next?: unknown) {
      const server = (request.socket as { server?: object } | undefined)?.server;
      if (server !== main && server !== undefined && !registry.entries.has(server)) registry.found(server as DrainableServer, request, response);
      return original.call(this, request, response, next);
    };
    app.handle = handle;
    this.unwatch = () => {
      if (app.handle === handle) app.handle = original;
    };
  }

  /** A server created from the application's handler, seen at its first request. */
  private found(server: DrainableServer, request: Request, response: Response): void {
    const drain = this.add(server, undefined, true);
    drain.adopt(request, response);
  }
}

function listenersOf(server: DrainableServer, event: string): unknown[] {
  return (server as unknown as NodeJS.EventEmitter).listeners?.(event) ?? [];
}
