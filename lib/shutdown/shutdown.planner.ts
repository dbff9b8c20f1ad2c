import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ShutdownHookExplorer, type HookCall } from '../discovery/shutdown-hook.explorer.js';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { ShutdownPlanError } from '../errors/shutdown-plan.error.js';
import { GRACEFUL_MODULE_OPTIONS } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import { buildStopPlan, selectHooks } from '../graph/stop-plan.rules.js';
import { EMPTY_PLAN } from '../graph/stop-plan.types.js';
import { budgetProblems, type ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { formatPlan } from '../report/plan.formatter.js';

/**
 * Plans the shutdown at startup: finds the hooks, orders them, and checks the
 * plan and the time budget, so that every problem shows while the
 * application starts (as an error with `strict`).
 */
@Injectable()
export class ShutdownPlanner implements OnModuleInit {
  private readonly logger;
  /** The `@OnShutdown()` hooks, except the final ones. */
  plan = EMPTY_PLAN;
  /** The `final: true` hooks, planned by the same rules. */
  finalPlan = EMPTY_PLAN;
  /** How to call each hook, by key. */
  calls = new Map<string, HookCall>();

  constructor(
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
    private readonly explorer: ShutdownHookExplorer,
  ) {
    this.logger = createGracefulLogger(options.logger, 'GracefulShutdown');
  }

  onModuleInit(): void {
    const { graph, calls } = this.explorer.explore();
    const { strict, finalTimeoutMs, shutdownTimeoutMs, logPlan } = this.options;
    const plan = buildStopPlan(selectHooks(graph, (hook) => !hook.final));
    const finalPlan = buildStopPlan(selectHooks(graph, (hook) => Boolean(hook.final)));
    for (const warning of [...plan.warnings, ...finalPlan.warnings]) {
      if (strict) throw new ShutdownPlanError(MESSAGES.strictPrefix + warning.message);
      this.logger.warn(warning.message);
    }
    if (finalPlan.phases.length > 0 && finalTimeoutMs >= shutdownTimeoutMs) {
      throw new InvalidGracefulOptionsError(
        MESSAGES.invalidOption(
          'finalTimeoutMs',
          finalTimeoutMs,
          `below shutdownTimeoutMs (${shutdownTimeoutMs}), which it is kept back from for the final hooks`,
        ),
      );
    }
    for (const problem of budgetProblems(this.options)) {
      if (strict) throw new InvalidGracefulOptionsError(MESSAGES.strictPrefix + problem);
      this.logger.warn(problem);
    }
    this.plan = plan;
    this.finalPlan = finalPlan;
    this.calls = calls;
    if (logPlan === true) this.logger.log(this.describePlan());
    else if (logPlan === undefined) this.logger.debug(this.describePlan());
  }

  /** The part of the deadline kept back for the final hooks: `finalTimeoutMs` when there are any. */
  get finalReserveMs(): number {
    return this.finalPlan.phases.length > 0 ? this.options.finalTimeoutMs : 0;
  }

  /** The plan as the startup log shows it. */
  describePlan(): string {
    return formatPlan(this.plan, this.finalPlan, { ...this.options, finalTimeoutMs: this.finalReserveMs || undefined });
  }
}
