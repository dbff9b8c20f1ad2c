/**
 * @nestjs/schedule: `@Cron()`, `@Interval()` and `@Timeout()` methods, and
 * jobs added to the `SchedulerRegistry`. At the drain every cron job,
 * interval and timeout stops (@nestjs/schedule would stop them only in
 * `beforeApplicationShutdown`, after the hooks), and the callbacks of the
 * decorated methods still running are awaited (@nestjs/schedule does not
 * wait for them at all). Nothing is removed from the registry, so code that
 * looks a job up during the shutdown still finds it.
 */
import { InFlight, type IntakeSource } from './intake.source.js';
import type { IntakeContext, IntakeIntegration } from './intake.context.js';

type Callback = (...args: unknown[]) => unknown;

/** What the drain uses of @nestjs/schedule's `SchedulerOrchestrator` (internal): where the decorated methods are registered. */
interface Orchestrator {
  addCron(method: Callback, ...rest: unknown[]): unknown;
  addInterval(method: Callback, ...rest: unknown[]): unknown;
  addTimeout(method: Callback, ...rest: unknown[]): unknown;
  cronJobs?: Record<string, { initialDelayRef?: NodeJS.Timeout }>;
}

/** @nestjs/schedule's public `SchedulerRegistry`. */
interface Registry {
  getCronJobs(): Map<string, { stop(): unknown }>;
  getIntervals(): string[];
  getInterval(name: string): NodeJS.Timeout;
  getTimeouts(): string[];
  getTimeout(name: string): NodeJS.Timeout;
}

const COUNTED = Symbol('nestjs-graceful.schedule');
/** @nestjs/schedule's module, which holds both the orchestrator and the registry. */
const MODULE = 'ScheduleModule';

function isOrchestrator(instance: object): instance is Orchestrator {
  const o = instance as Partial<Orchestrator>;
  return typeof o.addCron === 'function' && typeof o.addInterval === 'function' && typeof o.addTimeout === 'function';
}

function isRegistry(instance: object): instance is Registry {
  const r = instance as Partial<Registry>;
  return typeof r.getCronJobs === 'function' && typeof r.getIntervals === 'function' && typeof r.getTimeouts === 'function';
}

class ScheduleIntake implements IntakeSource {
  readonly kind = 'schedule' as const;
  readonly unit = 'callback';
  readonly name: string;

  constructor(
    private readonly registry: Registry,
    private readonly orchestrator: Orchestrator | undefined,
    private readonly inFlight: InFlight,
  ) {
    const crons = registry.getCronJobs().size;
    this.name = `Schedules (${crons} cron job(s), ${registry.getIntervals().length} interval(s), ${registry.getTimeouts().length} timeout(s))`;
  }

  async drain(signal: AbortSignal): Promise<void> {
    this.inFlight.startCounting();
    for (const job of this.registry.getCronJobs().values()) job.stop();
    for (const name of this.registry.getIntervals()) clearInterval(this.registry.getInterval(name));
    for (const name of this.registry.getTimeouts()) clearTimeout(this.registry.getTimeout(name));
    for (const { initialDelayRef } of Object.values(this.orchestrator?.cronJobs ?? {})) clearTimeout(initialDelayRef);
    await this.inFlight.settled(signal);
  }

  finished(): number {
    return this.inFlight.finished;
  }

  running(): number {
    return this.inFlight.size;
  }
}

/**
 * Finds the orchestrator and the registry where @nestjs/schedule keeps them,
 * once: among its module's own providers (no look at the application's).
 * A `ScheduleModule` of another shape falls back to testing the instances.
 */
export class ScheduleIntegration implements IntakeIntegration {
  private readonly inFlight = new InFlight();
  private located?: { orchestrator?: Orchestrator; registry?: Registry };

  /** Before `init()`, where @nestjs/schedule registers the decorated methods: each is counted while it runs. */
  prepare(context: IntakeContext): void {
    const found = this.locate(context).orchestrator;
    if (!found) return;
    const orchestrator = found as Orchestrator & { [COUNTED]?: true };
    if (orchestrator[COUNTED]) return;
    orchestrator[COUNTED] = true;
    for (const method of ['addCron', 'addInterval', 'addTimeout'] as const) {
      const add = orchestrator[method].bind(orchestrator);
      orchestrator[method] = (callback: Callback, ...rest: unknown[]) => add((...args: unknown[]) => this.inFlight.around(() => callback(...args)), ...rest);
    }
  }

  sources(context: IntakeContext): IntakeSource[] {
    const { registry, orchestrator } = this.locate(context);
    if (!registry) return [];
    const scheduled = registry.getCronJobs().size + registry.getIntervals().length + registry.getTimeouts().length;
    return scheduled > 0 || this.inFlight.size > 0 ? [new ScheduleIntake(registry, orchestrator, this.inFlight)] : [];
  }

  private locate(context: IntakeContext): { orchestrator?: Orchestrator; registry?: Registry } {
    if (this.located) return this.located;
    const held = context.moduleInstances(MODULE).map(({ instance }) => instance);
    let orchestrator = held.find(isOrchestrator);
    let registry = held.find(isRegistry);
    if (held.length > 0 && (!orchestrator || !registry)) {
      orchestrator ??= context.findInstance(isOrchestrator) as Orchestrator | undefined;
      registry ??= context.findInstance(isRegistry) as Registry | undefined;
    }
    return (this.located = { orchestrator, registry });
  }
}
