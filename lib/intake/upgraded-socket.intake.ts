/**
 * Every WebSocket on an HTTP server that no Nest gateway owns: GraphQL
 * subscriptions (@nestjs/graphql with Apollo and graphql-ws, Mercurius),
 * a `ws` server the application attaches (`{ server }` or `noServer` on the
 * server's 'upgrade'), @fastify/websocket routes. Found by the one thing they
 * share: the server's 'upgrade' event, seen before their own listeners.
 *
 * At the drain no new upgrade is accepted (503), and every client is closed
 * with 1001 (Going Away), so that standard clients reconnect to an instance
 * that is ready; the drain waits for their close handshakes. Most owners sit
 * on `ws`, which keeps its WebSocket on the socket under a symbol of its own
 * (one per copy of `ws`, found by its description): closed through it, the
 * owner sees a normal close. A socket upgraded by something else gets a
 * close frame and the end of its connection. What is still open at the
 * drain's end is destroyed and counted as still running.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { untilAborted } from '../shutdown/abortable-delay.js';
import type { IntakeSource } from './intake.source.js';

/** What the drain uses of a `ws` WebSocket. */
interface WsSocket {
  readyState: number;
  close(code: number, reason: string): void;
  terminate(): void;
}

/** What the watch uses of the HTTP server. */
export type UpgradeServer = Pick<EventEmitter, 'prependListener' | 'on' | 'removeListener' | 'listeners' | 'listenerCount'>;

/** An upgraded connection and what its upgrade asked for. */
export interface Upgraded {
  socket: Socket;
  /** The request's path, without its query. */
  path: string;
  websocket: boolean;
}

const GOING_AWAY = 1001;
const REASON = 'server going away';
const OPEN = 1;
const CLOSED = 3;
/** A close frame from a server (unmasked), status 1001. */
const CLOSE_FRAME = Buffer.from([0x88, 0x02, GOING_AWAY >> 8, GOING_AWAY & 0xff]);
const REFUSED = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** The `ws` WebSocket that owns `socket`, if one does. */
export function webSocketOf(socket: object): WsSocket | undefined {
  for (const key of Object.getOwnPropertySymbols(socket)) {
    if (key.description !== 'websocket') continue;
    const candidate = (socket as Record<symbol, unknown>)[key] as WsSocket | undefined;
    if (candidate && typeof candidate.close === 'function' && typeof candidate.terminate === 'function' && typeof candidate.readyState === 'number')
      return candidate;
  }
  return undefined;
}

/**
 * Watches the upgrades of one HTTP server from startup, and drains the
 * sockets upgraded on it that no gateway owns.
 */
export class UpgradedSocketIntake implements IntakeSource {
  readonly kind = 'websocket' as const;
  readonly unit = 'socket';
  private readonly sockets = new Map<Socket, Upgraded>();
  /** Open at the drain, or upgraded since, and not a gateway's: closed by this drain. */
  private readonly closing = new Set<Socket>();
  private readonly paths = new Set<string>();
  private closed = 0;
  /** Set at the drain's end: the sockets it cut. */
  private cut?: number;
  private refusing = false;
  private attached = false;
  /** The owners' 'upgrade' listeners, set aside while the drain refuses upgrades. */
  private setAside: Array<(...args: unknown[]) => void> = [];

  /** Which sockets a gateway owns: those are left to the gateway's own drain, which answers their messages first. */
  owned: (upgraded: Upgraded) => boolean = () => false;

  constructor(
    private readonly server: UpgradeServer,
    private readonly serverName = 'the HTTP server',
  ) {}

  /** As the timeline names it: with the paths of the sockets it closed. */
  get name(): string {
    const paths = [...this.paths].sort();
    return `WebSockets upgraded on ${this.serverName}${paths.length > 0 ? ` (${paths.join(', ')})` : ''}`;
  }

  /** Whether anything but the module listens for upgrades: otherwise the server upgrades nothing. */
  get inUse(): boolean {
    return this.attached || this.sockets.size > 0;
  }

  attach(): void {
    // Only beside someone else's: a lone 'upgrade' listener would make Node
    // hand it upgrade requests that nobody then answers.
    if (this.server.listenerCount('upgrade') > 0) this.watch();
    else this.server.on('newListener', this.onNewListener);
  }

  release(): void {
    this.server.removeListener('newListener', this.onNewListener);
    this.server.removeListener('upgrade', this.onUpgrade);
    this.server.removeListener('upgrade', this.refuse);
    for (const listener of this.setAside) this.server.on('upgrade', listener);
    this.setAside = [];
  }

  private watch(): void {
    this.server.removeListener('newListener', this.onNewListener);
    this.server.prependListener('upgrade', this.onUpgrade);
    this.attached = true;
  }

  private readonly onNewListener = (event: string | symbol): void => {
    if (event === 'upgrade') this.watch();
  };

  private readonly onUpgrade = (request: IncomingMessage, socket: Socket): void => {
    const upgrade = String(request.headers.upgrade ?? '').toLowerCase();
    const path = (request.url ?? '/').split('?')[0] || '/';
    this.sockets.set(socket, { socket, path, websocket: upgrade === 'websocket' });
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.closing.delete(socket) && this.cut === undefined) this.closed++;
    });
  };

  /** During the drain the one 'upgrade' listener: every upgrade is answered 503, its connection closed. */
  private readonly refuse = (_request: IncomingMessage, socket: Socket): void => {
    if (socket.writable) socket.end(REFUSED, () => socket.destroy());
    else socket.destroy();
  };

  async drain(signal: AbortSignal): Promise<void> {
    this.refuseUpgrades();
    const all: Array<Promise<void>> = [];
    for (const upgraded of this.sockets.values()) {
      if (this.owned(upgraded)) continue;
      this.closing.add(upgraded.socket);
      this.paths.add(upgraded.path);
      all.push(this.close(upgraded));
    }
    await untilAborted(Promise.all(all), signal);
    // Left at the drain's end: cut, and counted as still running.
    if (this.closing.size === 0) return;
    this.cut = this.closing.size;
    for (const socket of this.closing) {
      const websocket = webSocketOf(socket);
      if (websocket) websocket.terminate();
      socket.destroy();
    }
  }

  finished(): number {
    return this.closed;
  }

  running(): number {
    return this.cut ?? this.closing.size;
  }

  /** From now on no upgrade reaches its owner: the owners' listeners are set aside, upgrades are refused. */
  private refuseUpgrades(): void {
    if (this.refusing) return;
    this.refusing = true;
    for (const listener of this.server.listeners('upgrade') as Array<(...args: unknown[]) => void>) {
      if (listener === this.onUpgrade) continue;
      this.server.removeListener('upgrade', listener);
      this.setAside.push(listener);
    }
    this.server.on('upgrade', this.refuse);
  }

  /** Closes one socket with 1001 and resolves once it has closed. */
  private close(upgraded: Upgraded): Promise<void> {
    const { socket } = upgraded;
    if (socket.destroyed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const websocket = webSocketOf(socket);
    if (websocket) {
      if (websocket.readyState === OPEN) websocket.close(GOING_AWAY, REASON);
      else if (websocket.readyState === CLOSED) socket.destroy();
      // CONNECTING cannot be on the server side; CLOSING: its handshake is under way already.
    } else if (socket.bytesWritten > 0 || socket.writableEnded) {
      // Answered by something other than `ws`: a WebSocket gets a close frame, anything else its end.
      if (socket.writableEnded) return closed;
      if (upgraded.websocket) socket.end(CLOSE_FRAME);
      else socket.end();
    } else {
      this.closeOnceAnswered(upgraded);
    }
    return closed;
  }

  /**
   * The handshake of a socket is still under way (an owner checks it
   * asynchronously, as Fastify's hooks do): the socket is closed right after
   * its owner answers. An owner on `ws` writes the 101 and takes the socket
   * in one go, so its WebSocket is there on the next tick.
   */
  private closeOnceAnswered(upgraded: Upgraded): void {
    const { socket } = upgraded;
    const write = socket.write;
    const watched = function (this: Socket, ...args: unknown[]): boolean {
      socket.write = write;
      process.nextTick(() => {
        if (socket.destroyed) return;
        const websocket = webSocketOf(socket);
        if (websocket?.readyState === OPEN) websocket.close(GOING_AWAY, REASON);
        else if (!websocket && upgraded.websocket && isSwitching(args[0]) && !socket.writableEnded) socket.end(CLOSE_FRAME);
      });
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    };
    socket.write = watched as Socket['write'];
  }
}

function isSwitching(chunk: unknown): boolean {
  const head = typeof chunk === 'string' ? chunk.slice(0, 16) : Buffer.isBuffer(chunk) ? chunk.subarray(0, 16).toString('latin1') : '';
  return / 101 /.test(head);
}
