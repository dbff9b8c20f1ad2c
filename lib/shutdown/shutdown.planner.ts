import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ShutdownHookExplorer, type ExploredHooks, type HookCalls } from '../discovery/shutdown-hook.explorer.js';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { ShutdownPlanError } from '../errors/shutdown-plan.error.js';
import { GRACEFUL_MODULE_OPTIONS } from '../graceful.constants.js';
import { createGracefulLogger, descriptionLevel } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import { analyseStopPlan, assembleStopPlan, selectHooks, type StopPlanAnalysis } from '../graph/stop-plan.rules.js';
import { EMPTY_PLAN, type StopPlan } from '../graph/stop-plan.types.js';
import { budgetProblems, type ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { formatPlan, formatPlatform } from '../report/plan.formatter.js';

/**
 * Plans the shutdown at startup: finds the hooks, orders them, and checks the
 * plan and the time budget, so that every problem shows while the
 * application starts (as an error with `strict`).
 */
@Injectable()
export class ShutdownPlanner implements OnModuleInit {
  private readonly logger;
  private analysis?: StopPlanAnalysis;
  private finalAnalysis?: StopPlanAnalysis;
  private built?: StopPlan;
  private finalBuilt?: StopPlan;
  /** How to call each hook, by key (built when asked). */
  calls: HookCalls = new Map();

  constructor(
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
    private readonly explorer: ShutdownHookExplorer,
  ) {
    this.logger = createGracefulLogger(options.logger, 'GracefulShutdown');
  }

  /**
   * Finds the hooks and checks them at startup; the plan itself (units,
   * waves, worst case) is built when first needed: by the shutdown, by
   * `plan`, or for the plan's log line when that line is shown.
   */
  onModuleInit(): void {
    const { strict, finalTimeoutMs, shutdownTimeoutMs, logPlan } = this.options;
    const { calls, anyFinal, analysis, finalAnalysis } = this.analyse(this.explorer.explore());
    for (const warning of [...analysis.warnings, ...(finalAnalysis?.warnings ?? [])]) {
      if (strict) throw new ShutdownPlanError(MESSAGES.strictPrefix + warning.message);
      this.logger.warn(warning.message);
    }
    if (anyFinal && finalTimeoutMs >= shutdownTimeoutMs) {
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
    this.analysis = analysis;
    this.finalAnalysis = finalAnalysis;
    this.built = this.finalBuilt = undefined;
    this.calls = calls;
    const level = descriptionLevel(this.options.logger, logPlan);
    if (level) this.logger[level](this.describePlan());
  }

  /**
   * A startup stopped before this provider's `onModuleInit` (a signal or
   * `startupTimeoutMs` inside `NestFactory.create()`, a provider initialized
   * before it that threw): the rollback still runs the hooks of every
   * provider Nest has constructed (their constructors and factories may have
   * opened what the hooks close); the others never existed. The checks
   * already had their chance to fail the start: nothing is logged or thrown.
   */
  planConstructed(): void {
    if (this.analysis) return;
    const { calls, analysis, finalAnalysis } = this.analyse(this.explorer.explore(true));
    this.analysis = analysis;
    this.finalAnalysis = finalAnalysis;
    this.built = this.finalBuilt = undefined;
    this.calls = calls;
  }

  private analyse(explored: ExploredHooks): { calls: HookCalls; anyFinal: boolean; analysis: StopPlanAnalysis; finalAnalysis?: StopPlanAnalysis } {
    const { graph, calls } = explored;
    // Most apps have no final hook: then the graph is the plan's as it is, and the final plan is empty.
    const anyFinal = graph.nodes.some((node) => node.hooks.some((hook) => hook.final));
    const analysis = analyseStopPlan(anyFinal ? selectHooks(graph, (hook) => !hook.final) : graph);
    const finalAnalysis = anyFinal ? analyseStopPlan(selectHooks(graph, (hook) => Boolean(hook.final))) : undefined;
    return { calls, anyFinal, analysis, finalAnalysis };
  }

  /** The `@OnShutdown()` hooks, except the final ones. */
  get plan(): StopPlan {
    return (this.built ??= this.analysis ? assembleStopPlan(this.analysis) : EMPTY_PLAN);
  }

  /** The `final: true` hooks, planned by the same rules. */
  get finalPlan(): StopPlan {
    return (this.finalBuilt ??= this.finalAnalysis ? assembleStopPlan(this.finalAnalysis) : EMPTY_PLAN);
  }

  /** The part of the deadline kept back for the final hooks: `finalTimeoutMs` when there are any. */
  get finalReserveMs(): number {
    return this.finalAnalysis ? this.options.finalTimeoutMs : 0;
  }

  /** The plan as the startup log shows it. */
  describePlan(): string {
    return formatPlan(this.plan, this.finalPlan, { ...this.options, finalTimeoutMs: this.finalReserveMs || undefined });
  }
}
