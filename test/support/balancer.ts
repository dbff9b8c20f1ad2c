import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WaitList } from '../../lib/drain/wait-list.js';

interface Backend {
  port: number;
  ready: boolean;
  /** The latest probe sent, and the latest whose answer was applied: a slow old answer never overrides a newer one. */
  sent: number;
  applied: number;
}

/**
 * A small load balancer on loopback that behaves like a Kubernetes Service:
 * it polls each backend's /health/ready (as the endpoints controller does
 * through the kubelet's probes) and routes only to ready ones, round robin,
 * over keep-alive connections, with no retries.
 */
export class Balancer {
  private readonly backends: Backend[] = [];
  private readonly agent = new Agent({ keepAlive: true });
  private readonly server: Server = createServer((req, res) => this.route(req, res));
  private poller?: NodeJS.Timeout;
  private next = 0;
  private readonly polled = new WaitList();

  constructor(private readonly pollMs = 100) {}

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.poller = setInterval(() => void this.poll(), this.pollMs);
    return (this.server.address() as AddressInfo).port;
  }

  add(port: number): void {
    this.backends.push({ port, ready: false, sent: 0, applied: 0 });
  }

  /** Resolves once `port` is seen ready (`true`) or not ready (`false`) by a poll. */
  async seen(port: number, ready: boolean): Promise<void> {
    while (this.backends.find((b) => b.port === port)?.ready !== ready) await this.polled.wait();
  }

  async stop(): Promise<void> {
    clearInterval(this.poller);
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async poll(): Promise<void> {
    await Promise.all(
      this.backends.map(async (backend) => {
        const sequence = ++backend.sent;
        const ready = await new Promise<boolean>((resolve) => {
          const probe = request({ host: '127.0.0.1', port: backend.port, path: '/health/ready', agent: false, timeout: 1000 }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          });
          probe.on('error', () => resolve(false));
          probe.on('timeout', () => probe.destroy());
          probe.end();
        });
        if (sequence > backend.applied) {
          backend.applied = sequence;
          backend.ready = ready;
        }
      }),
    );
    this.polled.release();
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const ready = this.backends.filter((b) => b.ready);
    if (ready.length === 0) {
      res.writeHead(503).end('no ready backend');
      return;
    }
    const backend = ready[this.next++ % ready.length];
    const upstream = request(
      { host: '127.0.0.1', port: backend.port, path: req.url, method: req.method, headers: req.headers, agent: this.agent },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502).end(`upstream error: ${error.message}`);
      else res.destroy();
    });
    req.pipe(upstream);
  }
}
