import { AppProcess, SAMPLE, type Exit } from './app-process.js';
import { Balancer } from './balancer.js';
import { Load, type LoadStats } from './load.js';

export interface RollingRestartOptions {
  platform: 'express' | 'fastify';
  /** 'graceful': the sample with nestjs-graceful; 'plain': the same app on plain Nest + terminus. */
  mode: 'graceful' | 'plain';
  clients: number;
  /** Successful requests to see before the restart, and again after the old instance exited. */
  steadyRequests?: number;
  readinessDelayMs?: number;
}

export interface RollingRestartResult extends LoadStats {
  /** How the terminated instance exited. */
  exit: Exit;
}

/**
 * One rolling restart on loopback: two instances of the sample behind the
 * balancer under steady keep-alive load; a third starts and becomes ready,
 * then the first gets SIGTERM (as a Deployment with maxSurge does); the load
 * goes on until the first has exited and more requests have succeeded.
 */
export async function rollingRestart(options: RollingRestartOptions): Promise<RollingRestartResult> {
  const steady = options.steadyRequests ?? 300;
  const env = {
    PORT: '0',
    PLATFORM: options.platform,
    SAMPLE_MODE: options.mode,
    READINESS_DELAY_MS: String(options.readinessDelayMs ?? 1500),
  };
  const instances: AppProcess[] = [];
  const balancer = new Balancer(100);
  let load: Load | undefined;
  try {
    const launch = async () => {
      const instance = new AppProcess(SAMPLE, env);
      instances.push(instance);
      const port = await instance.port();
      balancer.add(port);
      await balancer.seen(port, true);
      return instance;
    };
    const port = await balancer.start();
    const [first] = await Promise.all([launch(), launch()]);
    load = new Load(port, options.clients);
    load.start();
    await load.succeeded(steady);
    await launch();
    first.signal('SIGTERM');
    const exit = await first.exited;
    await load.succeeded(steady);
    return { ...(await load.stop()), exit };
  } finally {
    await load?.stop();
    await balancer.stop();
    for (const instance of instances) instance.signal('SIGTERM');
    await Promise.all(instances.map((instance) => instance.exited));
  }
}
