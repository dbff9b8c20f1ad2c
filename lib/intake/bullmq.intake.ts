/**
 * @nestjs/bullmq processors (`@Processor()` classes extending `WorkerHost`).
 * At the drain every worker stops fetching and its active jobs finish:
 * BullMQ's own graceful `worker.close()`, which @nestjs/bullmq would call
 * only in `onApplicationShutdown`, after the hooks. Its later call gets the
 * same promise.
 */
import type { IntakeSource } from './intake.source.js';
import type { IntakeContext, IntakeIntegration } from './intake.context.js';

/** What the drain uses of a BullMQ `Worker`. */
interface BullWorker {
  name: string;
  close(force?: boolean): Promise<void>;
  isRunning(): boolean;
  on(event: 'active' | 'completed' | 'failed', listener: () => void): unknown;
}

const COUNTED = Symbol('nestjs-graceful.bullmq');

class WorkerIntake implements IntakeSource {
  readonly kind = 'queue' as const;
  readonly unit = 'job';
  readonly name: string;
  private active = 0;
  private done = 0;
  private counting = false;
  private closed = false;

  constructor(
    private readonly worker: BullWorker,
    owner: string,
  ) {
    this.name = `BullMQ worker "${worker.name}" (${owner})`;
    worker.on('active', () => this.active++);
    const ended = () => {
      this.active = Math.max(0, this.active - 1);
      if (this.counting) this.done++;
    };
    worker.on('completed', ended);
    worker.on('failed', ended);
  }

  async drain(): Promise<void> {
    this.counting = true;
    await this.worker.close();
    this.closed = true;
  }

  finished(): number {
    return this.done;
  }

  /** Until its close has ended, at least one job (counted from when the module first saw the worker). */
  running(): number {
    if (this.closed) return 0;
    return this.counting ? Math.max(this.active, 1) : this.active;
  }
}

function workerOf(instance: object): BullWorker | undefined {
  // WorkerHost keeps its worker in `_worker` (its `worker` getter throws until there is one).
  const worker = (instance as { _worker?: BullWorker })._worker;
  return worker && typeof worker.close === 'function' && typeof worker.isRunning === 'function' && typeof worker.on === 'function' ? worker : undefined;
}

export class BullMqIntegration implements IntakeIntegration {
  sources(context: IntakeContext): IntakeSource[] {
    const sources: IntakeSource[] = [];
    for (const { name, instance } of context.instances()) {
      const worker = workerOf(instance) as (BullWorker & { [COUNTED]?: WorkerIntake }) | undefined;
      if (!worker) continue;
      worker[COUNTED] ??= new WorkerIntake(worker, name);
      sources.push(worker[COUNTED]);
    }
    return sources;
  }
}
