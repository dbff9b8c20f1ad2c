/**
 * @nestjs/bullmq processors (`@Processor()` classes extending `WorkerHost`).
 * At the drain every worker stops fetching and its active jobs finish:
 * BullMQ's own graceful `worker.close()`, which @nestjs/bullmq would call
 * only in `onApplicationShutdown`, after the hooks. Its later call gets the
 * same promise. At startup, readiness waits for each worker to be ready:
 * BullMQ's `waitUntilReady()`, which resolves once both its connections
 * (the one that fetches and the blocking one) are up.
 */
import type { IntakeSource } from './intake.source.js';
import { JobCounter } from './job.counter.js';
import type { IntakeContext, IntakeIntegration } from './intake.context.js';

/** What the drain uses of a BullMQ `Worker`. */
interface BullWorker {
  name: string;
  close(force?: boolean): Promise<void>;
  isRunning(): boolean;
  /** Resolves once the worker's connections are ready (BullMQ 2 and later). */
  waitUntilReady?(): Promise<unknown>;
  on(event: 'active' | 'completed' | 'failed', listener: () => void): unknown;
}

const COUNTED = Symbol('nestjs-graceful.bullmq');

class WorkerIntake implements IntakeSource {
  readonly kind = 'queue' as const;
  readonly unit = 'job';
  readonly name: string;
  private readonly jobs: JobCounter;
  private closed = false;
  /** Resolves once both of its connections are ready; undefined where BullMQ cannot tell. */
  private readonly ready?: Promise<void>;
  private isReady = false;

  constructor(
    private readonly worker: BullWorker,
    owner: string,
  ) {
    this.name = `BullMQ worker "${worker.name}" (${owner})`;
    this.jobs = new JobCounter(worker);
    if (typeof worker.waitUntilReady === 'function') {
      this.ready = worker.waitUntilReady().then(() => void (this.isReady = true));
      // A connection closed before it was ready: connected() reports it; nothing to handle here.
      this.ready.catch(() => undefined);
    }
  }

  /**
   * A worker that has never been ready has taken no job, and its graceful
   * close would wait for the connection (BullMQ's fetch loop waits for it):
   * closed at once instead, so that a broker that is down does not hold the
   * shutdown until its deadline.
   */
  async drain(): Promise<void> {
    this.jobs.draining = true;
    await this.worker.close(this.ready !== undefined && !this.isReady);
    this.closed = true;
  }

  finished(): number {
    return this.jobs.finished;
  }

  /** Once both of its connections are ready: until then it fetches nothing. */
  connected(): Promise<void> | undefined {
    return this.isReady ? undefined : this.ready;
  }

  /** Until its close has ended, at least one job (counted from when the module first saw the worker). */
  running(): number {
    return this.jobs.running(this.closed);
  }
}

/** What the drain uses of @nestjs/bullmq's `BullExplorer` (internal): it keeps every worker it creates, and creates them in `handleProcessor(instance, ...)`. */
interface Explorer {
  workers: BullWorker[];
  handleProcessor(instance: object, ...rest: unknown[]): unknown;
}

/** @nestjs/bullmq's module, which holds the explorer (its name is shared with @nestjs/bull's). */
const MODULE = 'BullModule';
const WATCHED = Symbol('nestjs-graceful.bullmq-explorer');

function isExplorer(instance: object): instance is Explorer {
  const e = instance as Partial<Explorer>;
  return Array.isArray(e.workers) && typeof e.handleProcessor === 'function';
}

function isWorker(worker: unknown): worker is BullWorker {
  const w = worker as Partial<BullWorker> | undefined;
  return !!w && typeof w.close === 'function' && typeof w.isRunning === 'function' && typeof w.on === 'function';
}

function workerOf(instance: object): BullWorker | undefined {
  // WorkerHost keeps its worker in `_worker` (its `worker` getter throws until there is one).
  const worker = (instance as { _worker?: BullWorker })._worker;
  return isWorker(worker) ? worker : undefined;
}

/** The worker's one intake, counting from its first call (the processor's class names it). */
function intakeOf(worker: BullWorker & { [COUNTED]?: WorkerIntake }, owner: string): WorkerIntake {
  return (worker[COUNTED] ??= new WorkerIntake(worker, owner));
}

/**
 * Finds the workers where @nestjs/bullmq keeps them: its explorer's list,
 * located once among the modules' own providers (no look at the
 * application's). An explorer of another shape falls back to testing every
 * instance, as before.
 */
export class BullMqIntegration implements IntakeIntegration {
  private explorers?: Explorer[];
  /** A `BullModule` was found whose explorer has no worker list: look at every instance. */
  private scan = false;

  /** Before `init()`, where @nestjs/bullmq creates the workers: each is counted from its creation and named by its processor's class. */
  prepare(context: IntakeContext): void {
    this.locate(context);
  }

  sources(context: IntakeContext): IntakeSource[] {
    const explorers = this.locate(context);
    if (this.scan) return this.scanInstances(context);
    return explorers.flatMap((explorer) => explorer.workers.filter(isWorker).map((worker) => intakeOf(worker, 'processor')));
  }

  private locate(context: IntakeContext): Explorer[] {
    if (this.explorers) return this.explorers;
    const held = context.moduleInstances(MODULE);
    this.explorers = held.map(({ instance }) => instance).filter(isExplorer);
    // @nestjs/bull shares the module's name and has an explorer without a worker list: only BullMQ's shape counts.
    this.scan = this.explorers.length === 0 && held.some(({ instance }) => isForeignBullMqExplorer(instance));
    for (const explorer of this.explorers) countWorkers(explorer);
    return this.explorers;
  }

  private scanInstances(context: IntakeContext): IntakeSource[] {
    const sources: IntakeSource[] = [];
    for (const { name, instance } of context.instances()) {
      const worker = workerOf(instance);
      if (worker) sources.push(intakeOf(worker, name));
    }
    return sources;
  }
}

/** An explorer of @nestjs/bullmq of another version (it registers workers, yet keeps no list of them). */
function isForeignBullMqExplorer(instance: object): boolean {
  const e = instance as { registerWorkers?: unknown; workers?: unknown };
  return typeof e.registerWorkers === 'function' && !Array.isArray(e.workers);
}

/** Counts each worker the explorer creates from its creation on, named by its processor's class. */
function countWorkers(explorer: Explorer & { [WATCHED]?: true }): void {
  if (explorer[WATCHED]) return;
  explorer[WATCHED] = true;
  const handle = explorer.handleProcessor.bind(explorer);
  explorer.handleProcessor = (instance: object, ...rest: unknown[]) => {
    const result = handle(instance, ...rest);
    const worker = workerOf(instance);
    if (worker) intakeOf(worker, instance.constructor?.name ?? 'processor');
    return result;
  };
}
