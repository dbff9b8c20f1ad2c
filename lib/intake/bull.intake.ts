/**
 * @nestjs/bull (legacy Bull 3 and 4) queues that have processors. At the
 * drain each stops fetching and its active jobs finish: Bull's local
 * `queue.pause(true)`, which @nestjs/bull would reach only through
 * `queue.close()` in `onApplicationShutdown`, after the hooks. The queue
 * stays open, so code that adds jobs during the shutdown still can; the
 * later close by @nestjs/bull finds it paused and only disconnects.
 *
 * A job whose predecessor's completion was on its way to Redis when the
 * pause began comes back with it, already taken (active, locked): Bull
 * would hold it in memory until its lock expired. It runs here instead,
 * and the drain waits for it too.
 *
 * At startup, readiness waits for each queue with processors to be
 * connected: its command connection and the blocking connection its
 * processing loops fetch on (created here if Bull has not yet).
 */
import { MESSAGES } from '../graceful.messages.js';
import type { IntakeSource } from './intake.source.js';
import { JobCounter } from './job.counter.js';
import type { IntakeContext, IntakeIntegration } from './intake.context.js';

/** What the drain uses of a Bull `Queue`. */
interface BullQueue {
  name: string;
  /** The processors, by job name. */
  handlers: Record<string, unknown>;
  /** Set while paused locally. */
  paused?: Promise<void> | null;
  pause(isLocal: true): Promise<void>;
  processJob(job: unknown, notFetch?: boolean): Promise<unknown>;
  processJobs(index: string, resolve: () => void, job?: unknown): void;
  whenCurrentJobsFinished(): Promise<void>;
  /** Whether the blocking connection exists: its getter creates it. */
  bclientInitialized?: boolean;
  /** The connection the processing loops fetch on. */
  bclient?: RedisClient;
  /** The connection commands go through. */
  client?: RedisClient;
  on(event: 'active' | 'completed' | 'failed', listener: () => void): unknown;
}

/** An ioredis client, as far as the drain reads it. */
interface RedisClient {
  status?: string;
  once(event: 'ready' | 'end', listener: () => void): unknown;
  removeListener?(event: 'ready' | 'end', listener: () => void): unknown;
}

/**
 * Resolves once `client` is ready, or has ended (it will not be), or
 * `signal` aborts; its listeners go with it. Without a status to read, at once.
 */
function untilReady(client: RedisClient | undefined, signal: AbortSignal): Promise<void> {
  if (!client || client.status === 'ready' || client.status === 'end' || typeof client.once !== 'function' || signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      client.removeListener?.('ready', done);
      client.removeListener?.('end', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    client.once('ready', done);
    client.once('end', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** @nestjs/bull's module, whose providers are the queues (`BullQueue_<name>`). */
const MODULE = 'BullModule';
const COUNTED = Symbol('nestjs-graceful.bull');

function hasStatus(client: RedisClient | undefined): client is RedisClient {
  return typeof client?.status === 'string' && typeof client.once === 'function';
}

function isBullQueue(instance: object): instance is BullQueue {
  const q = instance as Partial<BullQueue>;
  return (
    typeof q.handlers === 'object' &&
    q.handlers !== null &&
    typeof q.pause === 'function' &&
    typeof q.processJob === 'function' &&
    typeof q.processJobs === 'function' &&
    typeof q.whenCurrentJobsFinished === 'function' &&
    typeof q.on === 'function'
  );
}

class QueueIntake implements IntakeSource {
  readonly kind = 'queue' as const;
  readonly unit = 'job';
  readonly name: string;
  private readonly jobs: JobCounter;
  private stopped = false;
  /** Jobs handed back by a completion that crossed the pause, run here. */
  private readonly held = new Set<Promise<unknown>>();

  constructor(private readonly queue: BullQueue) {
    this.name = `Bull queue "${queue.name}"`;
    this.jobs = new JobCounter(queue);
    this.runHeldJobs();
  }

  get hasProcessors(): boolean {
    return Object.keys(this.queue.handlers).length > 0;
  }

  async drain(signal: AbortSignal): Promise<void> {
    this.jobs.draining = true;
    await this.untilConnected(signal);
    // Stops fetching (every processing loop waits on the local pause) and resolves once the active jobs have finished.
    await this.queue.pause(true);
    while (this.held.size > 0) await Promise.allSettled([...this.held]);
    this.stopped = true;
  }

  /**
   * Bull's pause reconnects the connection its loops fetch on; one still
   * connecting (a queue that has just started) would fail its loops'
   * start with "Connection is closed." (an unhandled rejection): the pause
   * waits for it to be ready.
   */
  private async untilConnected(signal: AbortSignal): Promise<void> {
    await untilReady(this.queue.bclientInitialized ? this.queue.bclient : undefined, signal);
  }

  /**
   * Once its processing loops can fetch: the command connection and the
   * blocking one ready. Only a queue with processors takes work, and only
   * one whose connections tell their status can be waited for.
   */
  connected(signal: AbortSignal): Promise<void> | undefined {
    const { queue } = this;
    if (!this.hasProcessors || !hasStatus(queue.client)) return undefined;
    if (queue.client.status === 'ready' && queue.bclientInitialized && queue.bclient?.status === 'ready') return undefined;
    const client = queue.client;
    const ended = () => new Error(MESSAGES.connectionEnded(this.name));
    return untilReady(client, signal).then(async () => {
      if (signal.aborted) return;
      if (client.status === 'end') throw ended();
      // Bull creates the blocking connection once the command one is up; its getter creates it here if it has not yet.
      const blocking = queue.bclient;
      await untilReady(blocking, signal);
      if (blocking?.status === 'end') throw ended();
    });
  }

  finished(): number {
    return this.jobs.finished;
  }

  /** Until its pause has ended, at least one job (counted from when the module first saw the queue). */
  running(): number {
    return this.jobs.running(this.stopped);
  }

  /**
   * From the drain on, a job handed to a processing loop runs (without
   * fetching another) instead of waiting for a resume that never comes.
   * Installed when the queue is found, before its loops start: each loop
   * binds `processJobs` anew on every turn.
   */
  private runHeldJobs(): void {
    const queue = this.queue;
    const next = queue.processJobs;
    const held = this.held;
    const draining = () => this.jobs.draining;
    queue.processJobs = function (this: BullQueue, index: string, resolve: () => void, job?: unknown): void {
      if (job === undefined || job === null || !draining()) return next.call(this, index, resolve, job);
      const run = queue
        .processJob(job, true)
        .catch(() => undefined)
        .finally(() => {
          held.delete(run);
          // Back to the loop, which waits on the pause as the others do.
          next.call(queue, index, resolve);
        });
      held.add(run);
    };
  }
}

export class BullIntegration implements IntakeIntegration {
  private queues?: QueueIntake[];

  /** Before `init()`: the queues exist (their processors are added during `init()`), and their jobs are counted from here on. */
  prepare(context: IntakeContext): void {
    this.queues ??= this.locate(context);
  }

  /** The queues that have processors now; the queues themselves were found once. */
  sources(context: IntakeContext): IntakeSource[] {
    this.queues ??= this.locate(context);
    return this.queues.filter((queue) => queue.hasProcessors);
  }

  private locate(context: IntakeContext): QueueIntake[] {
    const queues: QueueIntake[] = [];
    for (const { instance } of context.moduleInstances(MODULE)) {
      if (!isBullQueue(instance)) continue;
      const queue = instance as BullQueue & { [COUNTED]?: QueueIntake };
      queue[COUNTED] ??= new QueueIntake(queue);
      queues.push(queue[COUNTED]);
    }
    return queues;
  }
}
