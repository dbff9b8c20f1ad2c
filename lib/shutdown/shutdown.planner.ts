import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ShutdownHookExplorer, type ExploredHooks, type HookCalls } from '../discovery/shutdown-hook.explorer.js';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { ShutdownPlanError } from '../errors/shutdown-plan.error.js';
import { GRACEFUL_MODULE_OPTIONS } from '../graceful.constants.js';
import { createGracefulLogger, descriptionLevel } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import { analyseStopPlan, assembleStopPlan, selectHooks, type StopPlanAnalysis } from '../graph/stop-plan.rules.js';
import { EMPTY_PLAN, type StopPlan } from '../graph/stop-plan.types.js';
import { LifecycleRecord } from '../lifecycle/lifecycle.record.js';
import { budgetProblems, type ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { formatPlan, formatPlatform } from '../report/plan.formatter.js';

/**
 * Plans the shutdown: checks the time budget at startup, finds the hooks,
 * orders them and checks the plan just after the start (inside it with
 * `strict`, where every problem is an error, or a logged plan), or as soon
 * as the plan is needed.
 */
@Injectable()
export class ShutdownPlanner implements OnModuleInit, OnModuleDestroy {
  private readonly logger;
  /** The hooks found at startup, until the plan's checks have run. */
  private explored?: ExploredHooks;
  /** Some hook is `final` (known once the hooks are found: it decides the final reserve). */
  private anyFinal = false;
  /** This provider's `onModuleInit` has run: every provider is constructed, the hooks can be found. */
  private initialized = false;
  /** The checks have run and said what they found: a plan found again (after a release) says nothing. */
  private warned = false;
  /** Waits for the application's start, then for the next turn, to run the checks. */
  private unwatch?: () => void;
  private pendingCheck?: NodeJS.Immediate;
  private analysis?: StopPlanAnalysis;
  private finalAnalysis?: StopPlanAnalysis;
  private built?: StopPlan;
  private finalBuilt?: StopPlan;
  /** How to call each hook, by key (built when asked). */
  private foundCalls: HookCalls = new Map();

  constructor(
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
    private readonly explorer: ShutdownHookExplorer,
    private readonly record: LifecycleRecord,
  ) {
    this.logger = createGracefulLogger(options.logger, 'GracefulShutdown');
  }

  /**
   * Checks the options at startup. Finding the hooks and the plan's own
   * checks (the dependencies walked through every provider, cycles, order
   * conflicts) fail the start with `strict`, and run at once when the plan
   * is shown in the log; otherwise they run just after the application has
   * started (their warnings follow its start line), or when the plan is first
   * needed (`plan`, a rollback, a shutdown), whichever comes first: at
   * 16,000 providers they are tens of milliseconds the start need not wait
   * for. The plan itself (units, waves, worst case) is built when first needed.
   */
  onModuleInit(): void {
    const { strict, finalTimeoutMs, shutdownTimeoutMs, logPlan } = this.options;
    this.initialized = true;
    // Wrong only when some hook is final: the hooks are found now to know.
    if (finalTimeoutMs >= shutdownTimeoutMs && this.explore().anyFinal) {
      throw new InvalidGracefulOptionsError(
        MESSAGES.invalidOption(
          'finalTimeoutMs',
          finalTimeoutMs,
          `below shutdownTimeoutMs (${shutdownTimeoutMs}), which it is kept back from for the final hooks`,
        ),
      );
    }
    if (this.options.platform.name !== 'none') this.logger.log(formatPlatform(this.options));
    for (const problem of budgetProblems(this.options)) {
      if (strict) throw new InvalidGracefulOptionsError(MESSAGES.strictPrefix + problem);
      this.logger.warn(problem);
    }
    const level = descriptionLevel(this.options.logger, logPlan);
    if (strict || level) this.check(strict);
    else this.checkOnceStarted();
    if (level) this.logger[level](this.describePlan());
    if (strict || level) this.release();
  }

  /**
   * A startup stopped before this provider's `onModuleInit` (a signal or
   * `startupTimeoutMs` inside `NestFactory.create()`, a provider initialized
   * before it that threw): the rollback still runs the hooks of every
   * provider Nest has constructed (their constructors and factories may have
   * opened what the hooks close); the others never existed. The checks
   * already had their chance to fail the start: nothing is thrown.
   */
  planConstructed(): void {
    if (!this.initialized && !this.analysis && !this.explored) this.found(this.explorer.explore(true));
    this.check(false);
  }

  /** The hooks as found, once: before the first check (the checks let them go). Found again after a release, without repeating their warnings. */
  private explore(): ExploredHooks {
    if (!this.explored) this.found(this.explorer.explore(false, this.warned));
    return this.explored!;
  }

  /**
   * After the startup's checks (warned, the plan shown if it was), nothing
   * found is kept until the shutdown, which finds and plans the hooks again
   * (the same result: the providers do not change once started, and its
   * warnings are not repeated). About 200 bytes per hook less for the
   * application's whole life, against some tens of milliseconds at the
   * signal in an application of 16,000 providers. Never once the shutdown
   * has begun: it is using them.
   */
  private release(): void {
    if (this.record.reason !== undefined || !this.warned) return;
    this.explored = this.analysis = this.finalAnalysis = this.built = this.finalBuilt = undefined;
    this.foundCalls = new Map();
  }

  private found(explored: ExploredHooks): void {
    this.explored = explored;
    this.anyFinal = explored.anyFinal;
    this.foundCalls = explored.calls;
    this.analysis = this.finalAnalysis = this.built = this.finalBuilt = undefined;
  }

  /**
   * Once the application has started, on the next turn: the checks the
   * startup did not wait for. What is pending is let go when the application
   * closes first: a queued check must not keep a closed application alive.
   */
  private checkOnceStarted(): void {
    this.unwatch = this.record.onEvent((event) => {
      if (event.type !== 'started') return;
      this.letGo();
      this.pendingCheck = setImmediate(() => {
        this.pendingCheck = undefined;
        this.check(false);
        this.release();
      });
    });
  }

  onModuleDestroy(): void {
    this.letGo();
    clearImmediate(this.pendingCheck);
    this.pendingCheck = undefined;
  }

  private letGo(): void {
    // May run inside the listener itself: the record's listeners allow it.
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /**
   * The plan's checks, once: each problem is a warning, or with `fail`
   * (`strict` at startup) an error. The hooks are found first if they were
   * not, once this provider's `onModuleInit` has run (before it, a startup
   * that stopped plans what was constructed: `planConstructed`).
   */
  private check(fail: boolean): void {
    if (this.analysis) return;
    if (!this.explored && !this.initialized) return;
    const explored = this.explore();
    // Most apps have no final hook: then the graph is the plan's as it is, and the final plan is empty.
    const { graph } = explored;
    const analysis = analyseStopPlan(this.anyFinal ? selectHooks(graph, (hook) => !hook.final) : graph);
    const finalAnalysis = this.anyFinal ? analyseStopPlan(selectHooks(graph, (hook) => Boolean(hook.final))) : undefined;
    // Found again after a release: warned once already.
    if (!this.warned) {
      for (const warning of [...analysis.warnings, ...(finalAnalysis?.warnings ?? [])]) {
        if (fail) throw new ShutdownPlanError(MESSAGES.strictPrefix + warning.message);
        this.logger.warn(warning.message);
      }
    }
    this.warned = true;
    this.explored = undefined;
    this.analysis = analysis;
    this.finalAnalysis = finalAnalysis;
  }

  /** The `@OnShutdown()` hooks, except the final ones. */
  get plan(): StopPlan {
    this.check(false);
    return (this.built ??= this.analysis ? assembleStopPlan(this.analysis) : EMPTY_PLAN);
  }

  /** The `final: true` hooks, planned by the same rules. */
  get finalPlan(): StopPlan {
    this.check(false);
    return (this.finalBuilt ??= this.finalAnalysis ? assembleStopPlan(this.finalAnalysis) : EMPTY_PLAN);
  }

  /** How to call each hook, by key: the hooks found first if they were not. */
  get calls(): HookCalls {
    this.check(false);
    return this.foundCalls;
  }

  /**
   * The part of the deadline kept back for the final hooks: `finalTimeoutMs`
   * when there are any. Known once the hooks have been found: a shutdown
   * that begins before re-arms its deadline once it has taken the plan, so
   * that nothing is found inside a signal handler.
   */
  get finalReserveMs(): number {
    return this.anyFinal ? this.options.finalTimeoutMs : 0;
  }

  /** The plan as the startup log shows it. */
  describePlan(): string {
    return formatPlan(this.plan, this.finalPlan, { ...this.options, finalTimeoutMs: this.finalReserveMs || undefined });
  }
}
