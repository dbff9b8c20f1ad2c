/**
 * @nestjs/websockets gateways, on @nestjs/platform-ws or
 * @nestjs/platform-socket.io. At the drain a gateway turns new connections
 * away and closes its clients the way that makes them reconnect on their own,
 * to an instance that is ready: `ws` clients get 1001 (Going Away), socket.io
 * clients see their transport close (the standard client reconnects; one
 * disconnected with `socket.disconnect()` would not). Nest runs
 * `handleDisconnect` as each closes, before the hooks; its own close of the
 * servers later finds nothing left to end.
 */
import { webSocketServersOf } from '../adapter/nest.adapter.js';
import type { IntakeSource } from './intake.source.js';
import type { IntakeContext, IntakeIntegration } from './intake.context.js';
import { untilAborted } from '../shutdown/abortable-delay.js';

/** A `ws` client, as much as the drain uses of it. */
interface WsClient {
  readyState: number;
  close(code: number, reason: string): void;
  terminate(): void;
  once(event: 'close', listener: () => void): void;
}
/** A `ws` WebSocketServer. */
interface WsServer {
  clients: Set<WsClient>;
  prependListener(event: 'connection', listener: (client: WsClient) => void): void;
  removeListener(event: 'connection', listener: (client: WsClient) => void): void;
}
/** An engine.io socket under socket.io. */
interface EngineSocket {
  readyState: string;
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

/** Closes clients and counts them: those closed cleanly, and those still open. */
abstract class GatewayIntake<Client> implements IntakeSource {
  readonly kind = 'websocket' as const;
  readonly unit = 'socket';
  abstract readonly name: string;
  private closed = 0;
  private readonly open = new Set<Client>();

  protected abstract clients(): Client[];
  protected abstract refuseNew(): void;
  protected abstract close(client: Client, onClosed: () => void): void;
  protected abstract terminate(client: Client): void;

  async drain(signal: AbortSignal): Promise<void> {
    this.refuseNew();
    const all = this.clients().map(
      (client) =>
        new Promise<void>((resolve) => {
          this.open.add(client);
          this.close(client, () => {
            if (this.open.delete(client)) this.closed++;
            resolve();
          });
        }),
    );
    await untilAborted(Promise.all(all), signal);
    // Left at the drain's end: ended without the handshake, as Nest would have.
    for (const client of this.open) this.terminate(client);
  }

  finished(): number {
    return this.closed;
  }

  running(): number {
    return this.open.size;
  }
}

class WsGatewayIntake extends GatewayIntake<WsClient> {
  readonly name: string;

  constructor(private readonly servers: WsServer[]) {
    super();
    this.name = `WebSockets (ws, ${servers.length} server(s))`;
  }

  private readonly turnAway = (client: WsClient) => client.close(GOING_AWAY, REASON);

  protected clients(): WsClient[] {
    return this.servers.flatMap((server) => [...server.clients]);
  }

  protected refuseNew(): void {
    for (const server of this.servers) server.prependListener('connection', this.turnAway);
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

  constructor(private readonly engines: EngineServer[]) {
    super();
    this.name = `WebSockets (socket.io, ${engines.length} server(s))`;
  }

  private readonly turnAway = (socket: EngineSocket) => socket.close();

  protected clients(): EngineSocket[] {
    return this.engines.flatMap((engine) => Object.values(engine.clients));
  }

  protected refuseNew(): void {
    for (const engine of this.engines) engine.prependListener('connection', this.turnAway);
  }

  protected close(socket: EngineSocket, onClosed: () => void): void {
    if (socket.readyState === 'closed') return onClosed();
    socket.once('close', onClosed);
    // The transport closes: the client reconnects by itself (reason "transport close").
    socket.close();
  }

  protected terminate(): void {
    // engine.io has no harsher close; the socket is already closing.
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

export class WebSocketIntegration implements IntakeIntegration {
  sources(context: IntakeContext): IntakeSource[] {
    const servers = webSocketServersOf(context.app);
    if (servers.length === 0) return [];
    const ws = [...new Set(servers.filter(isWsServer))];
    const engines = [...new Set(servers.map(engineOf).filter((engine): engine is EngineServer => Boolean(engine)))];
    const sources: IntakeSource[] = [];
    if (ws.length > 0) sources.push(new WsGatewayIntake(ws));
    if (engines.length > 0) sources.push(new SocketIoGatewayIntake(engines));
    return sources;
  }
}
