/**
 * Worker threads the application started: Node lists them neither as
 * handles nor as resources, but announces each one on the `worker_threads`
 * diagnostics channel as it is created. Those still running once the hooks
 * and Nest's own have run keep the process alive (a test's `app.close()`
 * that never lets Jest exit): each is terminated, awaited and named in the
 * report. Knows nothing of Nest.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Worker } from 'node:worker_threads';
import type { WorkerThreadReport } from '../interfaces/shutdown-report.interface.js';

const CHANNEL = 'worker_threads';

/** The module's own threads (the deadline watchdog): never the application's to stop. */
const OWN = new WeakSet<object>();

/** Marks a thread the module started itself. */
export function ownWorker(worker: object): void {
  OWN.add(worker);
}

interface Tracked {
  worker: Worker;
  name: string;
}

export class WorkerWatch {
  private readonly running = new Map<Worker, Tracked>();
  private readonly onCreated = (message: unknown) => {
    const worker = (message as { worker?: Worker } | undefined)?.worker;
    if (!worker || typeof worker.terminate !== 'function') return;
    // Announced inside `new Worker()`: the stack says who created it.
    const tracked = { worker, name: `worker thread ${worker.threadId} (created at ${creationSite()})` };
    this.running.set(worker, tracked);
    worker.once('exit', () => this.running.delete(worker));
  };

  constructor() {
    subscribe(CHANNEL, this.onCreated);
  }

  /** The application's threads started since the module was created, still running. */
  left(): Tracked[] {
    return [...this.running.values()].filter(({ worker }) => !OWN.has(worker));
  }

  release(): void {
    unsubscribe(CHANNEL, this.onCreated);
  }
}

/** Terminates each thread (`worker.terminate()`: its event loop stops at once), awaits its exit, bounded by `signal`. */
export async function stopWorkers(workers: Tracked[], signal: AbortSignal): Promise<WorkerThreadReport[]> {
  return Promise.all(
    workers.map(async ({ worker, name }): Promise<WorkerThreadReport> => {
      const exited = new Promise<number | undefined>((resolve) => {
        worker.once('exit', resolve);
        signal.addEventListener('abort', () => resolve(undefined), { once: true });
      });
      void worker.terminate().catch(() => undefined);
      const exitCode = await exited;
      return { name, stopped: exitCode !== undefined, exitCode: exitCode ?? null };
    }),
  );
}

function creationSite(): string {
  const frame = (new Error().stack ?? '')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().replace(/^at /, ''))
    .find((line) => !line.includes('node:') && !line.includes('worker-threads.js') && !line.includes('diagnostics_channel'));
  return frame ?? 'unknown';
}
