import { Agent, request } from 'node:http';
import { WaitList } from '../../lib/drain/wait-list.js';

export interface LoadStats {
  total: number;
  ok: number;
  failed: number;
  /** Failures by status code or error code. */
  failures: Record<string, number>;
}

/**
 * Steady keep-alive load: `clients` loops, each sending GET `path` one after
 * another until stopped, or until `maxRequests` were sent in all (a bound, so
 * that a run always ends). Every non-2xx answer and every socket error counts
 * as a failure; nothing is retried.
 */
export class Load {
  readonly stats: LoadStats = { total: 0, ok: 0, failed: 0, failures: {} };
  private readonly agent: Agent;
  private running = false;
  private loops: Array<Promise<void>> = [];
  private readonly progress = new WaitList();

  constructor(
    private readonly port: number,
    private readonly clients: number,
    private readonly path = '/orders',
    private readonly maxRequests = 2_000_000,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: clients });
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.clients }, () => this.loop());
  }

  /** Resolves once `count` more requests have succeeded. */
  async succeeded(count: number): Promise<void> {
    const target = this.stats.ok + count;
    while (this.stats.ok < target) {
      if (!this.running) throw new Error('load stopped');
      await this.progress.wait();
    }
  }

  async stop(): Promise<LoadStats> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
    return this.stats;
  }

  private async loop(): Promise<void> {
    while (this.running && this.stats.total < this.maxRequests) {
      const outcome = await this.once();
      this.stats.total++;
      if (outcome === 'ok') this.stats.ok++;
      else {
        this.stats.failed++;
        this.stats.failures[outcome] = (this.stats.failures[outcome] ?? 0) + 1;
      }
      this.progress.release();
    }
    if (this.running) this.running = false;
    this.progress.release();
  }

  private once(): Promise<string> {
    return new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port: this.port, path: this.path, agent: this.agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode! >= 200 && res.statusCode! < 300 ? 'ok' : String(res.statusCode)));
        res.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      req.end();
    });
  }
}
