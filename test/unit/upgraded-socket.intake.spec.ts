/**
 * The drain of WebSockets no gateway owns, on a real HTTP server in this
 * process with real clients: the cases an end-to-end run cannot produce at
 * will (an upgrade on a server still listening, an owner that is not `ws`,
 * a handshake under way at the drain, a client that never answers).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { UpgradedSocketIntake } from '../../lib/intake/upgraded-socket.intake.js';

interface Setup {
  server: Server;
  port: number;
  intake: UpgradedSocketIntake;
  wss: WebSocketServer;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** An HTTP server whose 'upgrade' goes to `owner` (by default a `ws` server), watched from the start. */
async function setup(owner?: (wss: WebSocketServer) => (request: IncomingMessage, socket: Socket, head: Buffer) => void): Promise<Setup> {
  const server = createServer((_request, response) => response.end('ok'));
  servers.push(server);
  const wss = new WebSocketServer({ noServer: true });
  const intake = new UpgradedSocketIntake(server);
  intake.attach();
  server.on(
    'upgrade',
    owner?.(wss) ??
      ((request: IncomingMessage, socket: Socket, head: Buffer) => wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request))),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, intake, wss };
}

function open(port: number, path = '/live'): Promise<WebSocket> {
  const client = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  return new Promise((resolve, reject) => {
    client.once('open', () => resolve(client));
    client.once('error', reject);
  });
}

function closeCode(client: WebSocket): Promise<number> {
  return new Promise((resolve) => client.once('close', (code) => resolve(code)));
}

describe('WebSockets no gateway owns, at the drain', () => {
  it('are closed with 1001 and counted; an upgrade from then on is answered 503 though the server still listens', async () => {
    const { port, intake, server } = await setup();
    const clients = await Promise.all([open(port), open(port, '/other')]);
    const codes = clients.map(closeCode);
    await intake.drain(new AbortController().signal);
    expect(await Promise.all(codes)).toEqual([1001, 1001]);
    expect(intake.finished()).toBe(2);
    expect(intake.running()).toBe(0);
    expect(intake.name).toBe('WebSockets upgraded on the HTTP server (/live, /other)');

    const late = new WebSocket(`ws://127.0.0.1:${port}/live`);
    const status = await new Promise<number | string>((resolve) => {
      late.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      late.once('open', () => resolve('open'));
      late.once('error', (error) => resolve(error.message));
    });
    expect(status).toBe(503);
    // Released, the owners' listeners are back as they were.
    intake.release();
    expect(server.listenerCount('upgrade')).toBe(1);
    const again = await open(port);
    again.close();
  });

  it('a socket upgraded by something other than ws gets a close frame with 1001, then its end', async () => {
    const { port, intake } = await setup(() => (_request, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    });
    const raw = connect(port, '127.0.0.1');
    raw.write(
      'GET /custom HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((resolve) => raw.once('data', () => resolve()));
    const ended = new Promise<void>((resolve) => raw.once('end', resolve));
    await intake.drain(new AbortController().signal).then(
      () => undefined,
      () => undefined,
    );
    await ended;
    const bytes = Buffer.concat(chunks);
    expect([...bytes.subarray(bytes.length - 4)]).toEqual([0x88, 0x02, 0x03, 0xe9]);
    raw.destroy();
  });

  it('a handshake still under way at the drain is closed with 1001 as soon as its owner completes it', async () => {
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    let reached!: () => void;
    const requested = new Promise<void>((resolve) => (reached = resolve));
    const { port, intake } = await setup((wss) => (request, socket, head) => {
      reached();
      // An owner that checks the upgrade asynchronously, as Fastify's hooks do.
      void answered.then(() => wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request)));
    });
    const client = new WebSocket(`ws://127.0.0.1:${port}/slow`);
    const code = closeCode(client);
    // The request has reached its owner (after the watch, which listens first).
    await requested;
    const drained = intake.drain(new AbortController().signal);
    answer();
    await drained;
    expect(await code).toBe(1001);
    expect(intake.finished()).toBe(1);
  });

  it("a client that never answers the close is cut at the drain's end and counted as still running", async () => {
    const { port, intake, wss } = await setup();
    const client = await open(port);
    const serverSide = new Promise<WebSocket>((resolve) => (wss.clients.size > 0 ? resolve([...wss.clients][0]) : wss.once('connection', resolve)));
    (client as unknown as { _socket: Socket })._socket.pause();
    const serverClosed = new Promise<void>((resolve) => void serverSide.then((ws) => ws.once('close', () => resolve())));
    const ended = new AbortController();
    const drained = intake.drain(ended.signal);
    ended.abort();
    await drained;
    expect(intake.running()).toBe(1);
    expect(intake.finished()).toBe(0);
    await serverClosed;
    // Still counted as cut once its connection is gone.
    expect(intake.running()).toBe(1);
    expect(intake.finished()).toBe(0);
    client.terminate();
  });

  it('leaves alone the sockets a gateway owns', async () => {
    const { port, intake } = await setup();
    intake.owned = ({ path }) => path === '/gateway';
    const gateway = await open(port, '/gateway');
    const other = await open(port, '/graphql');
    const code = closeCode(other);
    await intake.drain(new AbortController().signal);
    expect(await code).toBe(1001);
    expect(gateway.readyState).toBe(WebSocket.OPEN);
    expect(intake.finished()).toBe(1);
    gateway.close();
  });
});
