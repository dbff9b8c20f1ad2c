/**
 * Drains a Node.js HTTP server: HTTP/1.1 over TCP or TLS, and HTTP/2 (h2c,
 * or TLS with `allowHTTP1`), as Express and Fastify run them. From
 * `closeKeepAlive()` on, every HTTP/1 response carries `Connection: close`,
 * so that keep-alive clients reconnect elsewhere (through an L4 proxy such as
 * kube-proxy too) instead of holding on to this instance. `drain()` then
 * stops accepting, closes idle connections at once (HTTP/2 sessions get a
 * GOAWAY and close once their streams end), waits for the responses in
 * progress, and cuts what is left at the timeout. Knows nothing of Nest.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import type { CutRequest, DrainReport } from '../interfaces/shutdown-report.interface.js';
import { untilAborted } from '../shutdown/abortable-delay.js';
import { WaitList } from './wait-list.js';

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** A client connection: an HTTP/1 socket or an HTTP/2 session. */
interface Connection {
  /** Requests in progress on it. */
  active: number;
  http2: boolean;
  /** HTTP/1: destroy (it is idle); HTTP/2: GOAWAY, then close once its streams end. */
  end(): void;
  destroy(): void;
  /** Set while an HTTP/1 connection that went idle during the drain is kept open for a request already on its way. */
  linger?: NodeJS.Timeout;
  /** Set once it has closed: nothing is armed for it any more. */
  closed?: boolean;
}

/** What the drain needs of the server; Node's http, https and http2 servers all are one. */
export type DrainableServer = Pick<Server, 'close' | 'prependListener' | 'removeListener' | 'on' | 'listenerCount'> & {
  keepAliveTimeout?: number;
  updateSettings?: unknown;
  listening?: boolean;
};

/** How many cut requests one drain names; the count covers them all. */
export const CUT_REQUESTS_NAMED = 20;

/** How long a connection idle during the drain stays open when the server announced no keep-alive timeout. */
const DEFAULT_LINGER_MS = 5000;

export class HttpDrain {
  private readonly connections = new Map<object, Connection>();
  /** Responses in progress, with the time their request arrived. */
  private readonly responses = new Map<Response, number>();
  private readonly tls: boolean;
  private readonly http2: boolean;
  private closingKeepAlive = false;
  private draining = false;
  private completed = 0;
  private readonly idleWaiters = new WaitList();

  /**
   * `name`: how the log, the report and the timeline name this server.
   * `closeWhenDone`: shared by the drains of one application, so that
   * `closeAfter()` holds whichever of its servers a response is on.
   */
  constructor(
    readonly server: DrainableServer,
    private fixedName?: string,
    private readonly closeWhenDone = new WeakSet<Response>(),
  ) {
    this.tls = server instanceof TlsServer;
    this.http2 = typeof server.updateSettings === 'function';
  }

  attach(): void {
    // A TLS server's 'connection' gives the raw socket; requests run on the TLS socket.
    this.server.prependListener(this.tls ? 'secureConnection' : 'connection', this.onSocket);
    if (this.http2) this.server.prependListener('session', this.onSession);
    this.server.prependListener('request', this.onRequest);
    // Only beside someone else's: a lone 'upgrade' listener would make Node
    // hand it upgrade requests that nobody then answers.
    if (this.server.listenerCount('upgrade') > 0) this.watchUpgrades();
    else this.server.on('newListener', this.onNewListener);
  }

  detach(): void {
    this.server.removeListener(this.tls ? 'secureConnection' : 'connection', this.onSocket);
    this.server.removeListener('session', this.onSession);
    this.server.removeListener('request', this.onRequest);
    this.server.removeListener('upgrade', this.onUpgrade);
    this.server.removeListener('newListener', this.onNewListener);
  }

  private watchUpgrades(): void {
    this.server.removeListener('newListener', this.onNewListener);
    this.server.prependListener('upgrade', this.onUpgrade);
  }

  private readonly onNewListener = (event: string | symbol): void => {
    if (event === 'upgrade') this.watchUpgrades();
  };

  /** Marks every HTTP/1 response from now on, and those not yet sent, `Connection: close`. */
  closeKeepAlive(): void {
    this.closingKeepAlive = true;
    for (const response of this.responses.keys()) if (isHttp1(response) && !response.headersSent) response.setHeader('Connection', 'close');
  }

  /**
   * Stops accepting and waits for the requests in flight, until `signal`
   * aborts (the drain timeout or the deadline); then destroys every
   * connection left. `stoppedAccepting` is called once the listener is closed.
   */
  async drain(signal: AbortSignal, stoppedAccepting: (inFlight: number) => void = () => undefined): Promise<DrainReport> {
    const startedAt = Date.now();
    // Named while the server still has an address.
    void this.name;
    this.closeKeepAlive();
    this.draining = true;
    const inFlightAtStart = this.responses.size;
    this.server.close(() => undefined);
    let idleConnectionsClosed = 0;
    for (const connection of [...this.connections.values()]) {
      if (connection.active === 0) idleConnectionsClosed++;
      if (connection.active === 0 || connection.http2) connection.end();
    }
    // Said only now: a client that reads it and connects must be refused, not
    // queued on a listener about to close and then reset.
    stoppedAccepting(inFlightAtStart);

    await untilAborted(this.idle(), signal);

    const requestsCut = this.responses.size;
    const cutRequests = this.describeCut(Date.now());
    for (const connection of [...this.connections.values()]) {
      clearTimeout(connection.linger);
      connection.destroy();
    }
    return {
      inFlightAtStart,
      requestsCompleted: this.completed,
      idleConnectionsClosed,
      requestsCut,
      cutRequests,
      trackedWorkCut: 0,
      durationMs: Date.now() - startedAt,
    };
  }

  /** `HTTP` for the application's server; else as given, or by scheme and port: `HTTP :3001`, `HTTPS :8443`. */
  get name(): string {
    if (this.fixedName) return this.fixedName;
    const address = (this.server as { address?: () => unknown }).address?.();
    const scheme = this.tls ? 'HTTPS' : 'HTTP';
    // Kept once known: a closed server has no address.
    if (address && typeof address === 'object' && 'port' in address) return (this.fixedName = `${scheme} :${String(address.port)}`);
    return scheme;
  }

  /** Whether the server ever served: it listens, or has connections (a server that never listened is not drained). */
  get serving(): boolean {
    return this.server.listening === true || this.connections.size > 0 || this.responses.size > 0;
  }

  /**
   * A request that reached the application before this drain was attached
   * (the first one on a server found through it): counted as if the drain
   * had seen it arrive.
   */
  adopt(request: Request, response: Response): void {
    this.onRequest(request, response);
  }

  /** The requests still running, longest first, at most `CUT_REQUESTS_NAMED`. */
  private describeCut(now: number): CutRequest[] {
    return [...this.responses]
      .sort(([, a], [, b]) => a - b)
      .slice(0, CUT_REQUESTS_NAMED)
      .map(([response, at]) => ({ server: this.name, method: response.req?.method ?? '?', path: pathOf(response.req?.url), runningMs: now - at }));
  }

  /**
   * Closes the connection of `response` once it has ended, instead of keeping
   * it for a next request: for responses that end because the drain ended
   * them (an SSE stream), whose clients reconnect on their own.
   */
  closeAfter(response: Response): void {
    this.closeWhenDone.add(response);
  }

  /** An upgraded connection (a WebSocket) is no longer HTTP: the WebSocket intake closes it, whoever owns it. */
  private readonly onUpgrade = (_request: IncomingMessage, socket: Socket): void => {
    this.connections.delete(socket);
  };

  private readonly onSocket = (socket: Socket | TLSSocket): void => {
    // HTTP/2 connections are tracked as sessions.
    if (this.http2 && (!this.tls || (socket as TLSSocket).alpnProtocol === 'h2')) return;
    this.track(socket, { active: 0, http2: false, end: () => socket.destroy(), destroy: () => socket.destroy() });
  };

  private readonly onSession = (session: Http2Session): void => {
    this.track(session, {
      active: 0,
      http2: true,
      end: () => session.close(),
      destroy: () => session.destroy(),
    });
  };

  private track(key: Socket | Http2Session, connection: Connection): void {
    this.connections.set(key, connection);
    key.once('close', () => {
      connection.closed = true;
      clearTimeout(connection.linger);
      this.connections.delete(key);
      this.check();
    });
    // A session that arrives during the drain gets its GOAWAY at once.
    if (this.draining && connection.http2) connection.end();
  }

  private readonly onRequest = (request: Request, response: Response): void => {
    const http2 = 'stream' in request;
    let connection = this.connections.get(http2 ? (request as Http2ServerRequest).stream.session! : request.socket);
    // A connection accepted before the drain was attached to its server (found at its first request).
    if (!connection && !http2 && !request.socket.destroyed) {
      this.onSocket(request.socket);
      connection = this.connections.get(request.socket);
    }
    if (connection) {
      connection.active++;
      clearTimeout(connection.linger);
      connection.linger = undefined;
    }
    this.responses.set(response, Date.now());
    if (this.closingKeepAlive && !http2 && !response.headersSent) response.setHeader('Connection', 'close');
    response.once('close', () => {
      this.responses.delete(response);
      if (connection) connection.active--;
      if (!this.draining) return;
      if (response.writableFinished) this.completed++;
      if (connection && connection.active === 0 && !connection.http2) {
        if (this.closeWhenDone.has(response)) connection.end();
        else this.linger(connection);
      }
      this.check();
    });
  };

  /**
   * An HTTP/1 connection whose response began before the signal went out
   * keep-alive: the client may already have sent its next request on it.
   * Keep it open for the keep-alive time the server announced, so that such
   * a request is served (with `Connection: close`, after which Node closes
   * the connection) rather than reset; close it then, or at the drain's end.
   */
  private linger(connection: Connection): void {
    // A response cut with its socket closes after it: no request can come on it.
    if (connection.closed) return;
    const ms = this.server.keepAliveTimeout || DEFAULT_LINGER_MS;
    connection.linger = setTimeout(() => connection.end(), ms);
  }

  private check(): void {
    if (this.draining && this.responses.size === 0 && ![...this.connections.values()].some((connection) => connection.linger)) this.idleWaiters.release();
  }

  private idle(): Promise<void> {
    const wait = this.idleWaiters.wait();
    this.check();
    return wait;
  }
}

function isHttp1(response: Response): response is ServerResponse {
  return !('stream' in response);
}

/** The path of a request, without its query string (which may carry secrets), bounded. */
export function pathOf(url: string | undefined): string {
  if (!url) return '?';
  const path = url.split('?', 1)[0];
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}
