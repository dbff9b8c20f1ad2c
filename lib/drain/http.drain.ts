/**
 * Drains a Node.js HTTP server (Express and Fastify both run on one). From
 * `closeKeepAlive()` on, every response carries `Connection: close`, so that
 * keep-alive clients reconnect elsewhere (through an L4 proxy such as
 * kube-proxy too) instead of holding on to this instance. `drain()` then
 * stops accepting, closes idle keep-alive connections at once, waits for the
 * responses in progress, and cuts what is left at the timeout. Knows nothing
 * of Nest.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { DrainReport } from '../interfaces/shutdown-report.interface.js';
import { WaitList } from './wait-list.js';

export class HttpDrain {
  private readonly connections = new Set<Socket>();
  private readonly responses = new Set<ServerResponse>();
  private closingKeepAlive = false;
  private draining = false;
  private completed = 0;
  private readonly idleWaiters = new WaitList();

  constructor(private readonly server: Server) {}

  attach(): void {
    this.server.prependListener('connection', this.onConnection);
    this.server.prependListener('request', this.onRequest);
  }

  detach(): void {
    this.server.removeListener('connection', this.onConnection);
    this.server.removeListener('request', this.onRequest);
  }

  /** Marks every response from now on, and those in progress, `Connection: close`. */
  closeKeepAlive(): void {
    this.closingKeepAlive = true;
    for (const response of this.responses) if (!response.headersSent) response.setHeader('Connection', 'close');
  }

  /**
   * Stops accepting and waits for the requests in flight and `work`, at most
   * `timeoutMs` or until `abort` fires; then destroys every connection left.
   */
  async drain(
    timeoutMs: number,
    work: () => Promise<void>,
    pendingWork: () => number,
    abort?: AbortSignal,
    stoppedAccepting: (inFlight: number) => void = () => undefined,
  ): Promise<DrainReport> {
    const startedAt = Date.now();
    this.closeKeepAlive();
    this.draining = true;
    const inFlightAtStart = this.responses.size;
    const busy = new Set([...this.responses].map((response) => response.socket));
    const idleConnectionsClosed = [...this.connections].filter((socket) => !busy.has(socket)).length;
    this.server.close(() => undefined);
    this.server.closeIdleConnections();
    // Said only now: a client that reads it and connects must be refused, not
    // queued on a listener about to close and then reset.
    stoppedAccepting(inFlightAtStart);

    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      onAbort = resolve;
      abort?.addEventListener('abort', onAbort, { once: true });
    });
    await Promise.race([Promise.all([this.idle(), work()]), expired]);
    clearTimeout(timer);
    if (onAbort) abort?.removeEventListener('abort', onAbort);

    const requestsCut = this.responses.size;
    this.server.closeAllConnections();
    return {
      inFlightAtStart,
      requestsCompleted: this.completed,
      idleConnectionsClosed,
      requestsCut,
      trackedWorkCut: pendingWork(),
      durationMs: Date.now() - startedAt,
    };
  }

  private readonly onConnection = (socket: Socket): void => {
    this.connections.add(socket);
    socket.once('close', () => this.connections.delete(socket));
  };

  private readonly onRequest = (_request: IncomingMessage, response: ServerResponse): void => {
    this.responses.add(response);
    if (this.closingKeepAlive) response.setHeader('Connection', 'close');
    response.once('close', () => {
      this.responses.delete(response);
      if (!this.draining) return;
      if (response.writableFinished) this.completed++;
      // A keep-alive connection whose response began before the drain is idle now.
      this.server.closeIdleConnections();
      if (this.responses.size === 0) this.idleWaiters.release();
    });
  };

  private idle(): Promise<void> {
    if (this.responses.size === 0) return Promise.resolve();
    return this.idleWaiters.wait();
  }
}
