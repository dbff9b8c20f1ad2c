/**
 * Every WebSocket of the application, whoever owns it.
 *
 * @nestjs/websockets gateways, on @nestjs/platform-ws or
 * @nestjs/platform-socket.io: at the drain a gateway turns new connections
 * away and stops reading from its clients; the `@SubscribeMessage()`
 * handlers already running finish and their replies and acks are written
 * (gateway-message.counter.ts); then its clients are closed the way that makes
 * them reconnect on their own, to an instance that is ready: `ws` clients get
 * 1001 (Going Away), socket.io clients see their transport close (the
 * standard client reconnects; one disconnected with `socket.disconnect()`
 * would not). Nest runs `handleDisconnect` as each closes, before the hooks;
 * its own close of the servers later finds nothing left to end.
 *
 * Every other WebSocket on the HTTP server (GraphQL subscriptions, a `ws`
 * server of the application's, @fastify/websocket): closed with 1001 at the
 * drain, and no upgrade accepted from then on (upgraded-socket.intake.ts).
 * A socket a gateway owns is drained by the gateway only.
 */
import { watchWebSocketAdapter, webSocketServersOf } from '../adapter/nest.adapter.js';
import type { IntakeSource } from './intake.source.js';
import type { IntakeContext, IntakeIntegration } from './intake.context.js';
import { untilAborted } from '../shutdown/abortable-delay.js';
import { GatewayMessages } from './gateway-message.counter.js';
import { UpgradedSocketIntake, webSocketOf, type Upgraded, type UpgradeServer } from './upgraded-socket.intake.js';

/** A `ws` client, as much as the drain uses of it. */
interface WsClient {
  readyState: number;
  close(code: number, reason: string): void;
  terminate(): void;
  pause?(): void;
  resume?(): void;
  once(event: 'close', listener: () => void): void;
}
/** A `ws` WebSocketServer. */
interface WsServer {
  clients: Set<WsClient>;
  /** Set by Nest's WsAdapter on the servers it shares an HTTP server with. */
  path?: string;
  prependListener(event: 'connection', listener: (client: WsClient) => void): void;
  removeListener(event: 'connection', listener: (client: WsClient) => void): void;
}
/** An engine.io socket under socket.io. */
interface EngineSocket {
  readyState: string;
  /** Its transport; over WebSocket, `socket` is the `ws` WebSocket. */
  transport?: { name?: string; socket?: WsClient };
  close(): void;
  once(event: 'close', listener: () => void): void;
}
interface EngineServer {
  clients: Record<string, EngineSocket>;
  prependListener(event: 'connection', listener: (socket: EngineSocket) => void): void;
  removeListener(event: 'connection', listener: (socket: EngineSocket) => void): void;
}

const GOING_AWAY = 1001;
const REASON = 'server going away';
const OPEN = 1;
const CLOSING = 2;

/**
 * Stops reading from the clients, waits for the handlers of the messages
 * read, then closes the clients and counts them: those closed cleanly, and
 * those still open.
 */
abstract class GatewayIntake<Client extends object> implements IntakeSource {
  readonly kind = 'websocket' as const;
  readonly unit = 'socket';
  abstract readonly name: string;
  private closed = 0;
  private cut?: number;
  private readonly open = new Set<Client>();

  constructor(protected readonly messages: GatewayMessages) {}

  protected abstract clients(): Client[];
  protected abstract refuseNew(): void;
  /** Stops reading its messages, where the transport can; else gates them. */
  protected abstract pause(client: Client): void;
  /** Reads again (a close handshake needs it), with its messages gated. */
  protected abstract resume(client: Client): void;
  protected abstract close(client: Client, onClosed: () => void): void;
  protected abstract terminate(client: Client): void;

  async drain(signal: AbortSignal): Promise<void> {
    this.refuseNew();
    const clients = this.clients();
    for (const client of clients) this.pause(client);
    // The replies of the messages read so far go out before the close frame.
    await this.messages.settled(signal);
    for (const client of clients) {
      this.messages.gate(client);
      this.resume(client);
    }
    const all = clients.map(
      (client) =>
        new Promise<void>((resolve) => {
          this.open.add(client);
          this.close(client, () => {
            if (this.open.delete(client) && this.cut === undefined) this.closed++;
            resolve();
          });
        }),
    );
    await untilAborted(Promise.all(all), signal);
    if (this.open.size === 0) return;
    // Left at the drain's end: ended without the handshake, as Nest would have, and counted as still running.
    this.cut = this.open.size;
    for (const client of this.open) this.terminate(client);
  }

  finished(): number {
    return this.closed;
  }

  running(): number {
    return this.cut ?? this.open.size;
  }
}

class WsGatewayIntake extends GatewayIntake<WsClient> {
  readonly name: string;

  constructor(
    private readonly servers: WsServer[],
    messages: GatewayMessages,
  ) {
    super(messages);
    this.name = `WebSockets (ws, ${servers.length} server(s))`;
  }

  private readonly turnAway = (client: WsClient) => {
    this.messages.gate(client);
    client.close(GOING_AWAY, REASON);
  };

  protected clients(): WsClient[] {
    return this.servers.flatMap((server) => [...server.clients]);
  }

  protected refuseNew(): void {
    for (const server of this.servers) server.prependListener('connection', this.turnAway);
  }

  protected pause(client: WsClient): void {
    client.pause?.();
  }

  protected resume(client: WsClient): void {
    client.resume?.();
  }

  protected close(client: WsClient, onClosed: () => void): void {
    if (client.readyState > CLOSING) return onClosed();
    client.once('close', onClosed);
    if (client.readyState === OPEN) client.close(GOING_AWAY, REASON);
  }

  protected terminate(client: WsClient): void {
    client.terminate();
  }
}

class SocketIoGatewayIntake extends GatewayIntake<EngineSocket> {
  readonly name: string;

  constructor(
    private readonly engines: EngineServer[],
    messages: GatewayMessages,
  ) {
    super(messages);
    this.name = `WebSockets (socket.io, ${engines.length} server(s))`;
  }

  private readonly turnAway = (socket: EngineSocket) => {
    this.messages.gate(socket);
    socket.close();
  };

  protected clients(): EngineSocket[] {
    return this.engines.flatMap((engine) => Object.values(engine.clients));
  }

  protected refuseNew(): void {
    for (const engine of this.engines) engine.prependListener('connection', this.turnAway);
  }

  protected pause(socket: EngineSocket): void {
    const websocket = socket.transport?.socket;
    // Over HTTP long-polling messages come as requests: gated from now on instead.
    if (typeof websocket?.pause === 'function') websocket.pause();
    else this.messages.gate(socket);
  }

  protected resume(socket: EngineSocket): void {
    socket.transport?.socket?.resume?.();
  }

  protected close(socket: EngineSocket, onClosed: () => void): void {
    if (socket.readyState === 'closed') return onClosed();
    // engine.io calls its socket closed as soon as it has sent the close; its WebSocket closes once the client answers.
    const websocket = socket.transport?.socket;
    let pending = websocket && websocket.readyState <= CLOSING ? 2 : 1;
    const closed = () => {
      if (--pending === 0) onClosed();
    };
    socket.once('close', closed);
    if (pending === 2) websocket!.once('close', closed);
    // The transport closes: the client reconnects by itself (reason "transport close").
    socket.close();
  }

  protected terminate(socket: EngineSocket): void {
    // Over WebSocket: its connection ends without the handshake. engine.io has no harsher close for polling.
    socket.transport?.socket?.terminate?.();
  }
}

function isWsServer(server: unknown): server is WsServer {
  return Boolean(server) && (server as WsServer).clients instanceof Set && typeof (server as { handleUpgrade?: unknown }).handleUpgrade === 'function';
}

/** The engine.io server of a socket.io Server, or of a Namespace. */
function engineOf(server: unknown): EngineServer | undefined {
  const io = server as { engine?: EngineServer; server?: { engine?: EngineServer } };
  const engine = io?.engine ?? io?.server?.engine;
  return engine && typeof engine.clients === 'object' && typeof engine.prependListener === 'function' ? engine : undefined;
}

/** The path a socket.io Server (or a Namespace's) serves under, `/socket.io` by default. */
function ioPathOf(server: unknown): string | undefined {
  const io = server as { engine?: unknown; path?: unknown; _path?: unknown; server?: { path?: unknown; _path?: unknown } };
  const owner = io?.engine ? io : io?.server;
  const path = typeof owner?.path === 'function' ? (owner.path as () => unknown).call(owner) : owner?._path;
  return typeof path === 'string' ? path.replace(/\/$/, '') : undefined;
}

/** Whether a socket upgraded on the HTTP server belongs to one of the gateways: its WebSocket is a client of one, or its path is one's. */
function gatewayOwner(servers: unknown[]): (upgraded: Upgraded) => boolean {
  const ws = servers.filter(isWsServer);
  const ioPaths = servers.map(ioPathOf).filter((path): path is string => Boolean(path));
  return ({ socket, path }) => {
    const websocket = webSocketOf(socket) as WsClient | undefined;
    if (ws.some((server) => (websocket && server.clients.has(websocket)) || server.path === path)) return true;
    return ioPaths.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  };
}

export class WebSocketIntegration implements IntakeIntegration {
  private readonly messages = new GatewayMessages();
  /** One per HTTP server the drain stops: the application's, and those found or handed over later. */
  private readonly upgrades: UpgradedSocketIntake[] = [];

  /** Counts gateway handlers from the first client on, and watches the upgrades of every HTTP server. */
  prepare(context: IntakeContext): void {
    watchWebSocketAdapter(context.app, (adapter) => this.messages.watch(adapter));
    const watch = (server: unknown, name: string) => {
      if (typeof (server as Partial<UpgradeServer> | undefined)?.listeners !== 'function') return;
      const upgrades = new UpgradedSocketIntake(server as UpgradeServer, name === 'HTTP' ? 'the HTTP server' : name);
      upgrades.attach();
      this.upgrades.push(upgrades);
    };
    if (context.servers) context.servers.each(watch);
    else if (context.http) watch(context.http.server, 'HTTP');
  }

  sources(context: IntakeContext): IntakeSource[] {
    const servers = webSocketServersOf(context.app);
    const sources: IntakeSource[] = [];
    if (servers.length > 0) {
      const ws = [...new Set(servers.filter(isWsServer))];
      const engines = [...new Set(servers.map(engineOf).filter((engine): engine is EngineServer => Boolean(engine)))];
      if (ws.length > 0) sources.push(new WsGatewayIntake(ws, this.messages));
      if (engines.length > 0) sources.push(new SocketIoGatewayIntake(engines, this.messages));
      if (this.messages.watching) sources.push(this.messages);
    }
    for (const upgrades of this.upgrades) {
      if (!upgrades.inUse) continue;
      upgrades.owned = gatewayOwner(servers);
      sources.push(upgrades);
    }
    return sources;
  }

  release(): void {
    for (const upgrades of this.upgrades) upgrades.release();
  }
}
