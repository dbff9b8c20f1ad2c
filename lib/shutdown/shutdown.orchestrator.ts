import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { writeFileSync } from 'node:fs';
import type { Subscription } from 'rxjs';
import {
  registerShutdownHost,
  unregisterShutdownHost,
  type ClosableApplication,
  type ShutdownHost,
} from '../adapter/nest.adapter.js';
import { ShutdownHookExplorer, type HookCall } from '../discovery/shutdown-hook.explorer.js';
import { HttpDrain } from '../drain/http.drain.js';
import { WorkTracker } from '../drain/work.tracker.js';
import { HookTimeoutError } from '../errors/hook-timeout.error.js';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { GRACEFUL_MODULE_OPTIONS, GracefulExitCode } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import { buildStopPlan, selectHooks, type HookSpec, type StopPlan } from '../graph/stop-plan.builder.js';
import type { DrainReport, HookReport, ShutdownReport, StageReport } from '../interfaces/shutdown-report.interface.js';
import { LifecycleRecord } from '../lifecycle/lifecycle.record.js';
import { budgetProblems, type ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { formatPlan } from '../report/plan.formatter.js';
import { formatTimeline } from '../report/timeline.formatter.js';
import { StopScheduler, type HookRun } from '../scheduler/stop.scheduler.js';
import { loadTelemetry, type ShutdownTelemetry } from '../telemetry/shutdown.telemetry.js';
import { abortableDelay } from './abortable-delay.js';

/** What started the shutdown, and what it may do. */
interface Trigger {
  reason: string;
  /** Wait `readinessDelayMs` first (SIGTERM, `shutdown()`, a fatal error). */
  delay: boolean;
  /** End the process when done (signals, `shutdown()`, fatal errors; not `app.close()`). */
  exit: boolean;
  startedAt: number;
  deadline: number;
}

/** A fault the testing utilities inject into a hook, by `Class.method`. */
export interface HookFault {
  delayMs?: number;
  throws?: string | Error;
  hang?: boolean;
}

const NO_PLAN: StopPlan = { phases: [], warnings: [], worstCaseMs: 0 };

/**
 * Runs the one shutdown path: readiness down, delay, drain, `@OnShutdown`
 * hooks by the stop plan, Nest's own hooks, the final hooks, report, exit,
 * all within the deadline. It is the application's shutdown host: signals,
 * fatal errors, `app.close()` and `shutdown()` all arrive here. Nothing in
 * it throws out to Nest.
 */
@Injectable()
export class ShutdownOrchestrator implements ShutdownHost, OnModuleInit {
  private readonly logger;
  private plan = NO_PLAN;
  private finalPlan = NO_PLAN;
  private calls = new Map<string, HookCall>();
  private faults = new Map<string, HookFault>();
  private telemetry?: ShutdownTelemetry;
  private app?: ClosableApplication;
  private readonly bootstraps: Array<Promise<void>> = [];
  private readonly processHandlers = new Map<string, (...args: unknown[]) => void>();
  private drain?: HttpDrain;
  private listening?: Subscription;
  private trigger?: Trigger;
  private scheduler?: StopScheduler;
  private finalRun?: Promise<void>;
  private readonly runs: HookRun[] = [];
  private readonly stages: StageReport[] = [];
  private readonly deadline = new AbortController();
  private deadlineTimer?: NodeJS.Timeout;
  private finished?: Promise<ShutdownReport>;
  private finish: (report: ShutdownReport) => void = () => undefined;
  /** What the shutdown is doing now, named for the deadline message. */
  private stage = 'waiting for the bootstrap to end';

  constructor(
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
    private readonly explorer: ShutdownHookExplorer,
    private readonly record: LifecycleRecord,
    private readonly work: WorkTracker,
    private readonly adapterHost: HttpAdapterHost,
    private readonly modules: ModulesContainer,
  ) {
    this.logger = createGracefulLogger(options.logger, ShutdownOrchestrator.name);
    registerShutdownHost(modules, this);
  }

  /** Finds the hooks and checks the plan and the budget: every problem shows at startup. */
  async onModuleInit(): Promise<void> {
    const { graph, calls } = this.explorer.explore();
    this.calls = calls;
    const strict = this.options.strict;
    this.plan = buildStopPlan(selectHooks(graph, (hook) => !hook.final), { strict });
    this.finalPlan = buildStopPlan(selectHooks(graph, (hook) => Boolean(hook.final)), { strict });
    for (const warning of [...this.plan.warnings, ...this.finalPlan.warnings]) this.logger.warn(warning.message);
    const { finalTimeoutMs, shutdownTimeoutMs } = this.options;
    if (this.finalPlan.phases.length > 0 && finalTimeoutMs >= shutdownTimeoutMs) {
      throw new InvalidGracefulOptionsError(
        MESSAGES.invalidOption('finalTimeoutMs', finalTimeoutMs, `below shutdownTimeoutMs (${shutdownTimeoutMs}), which it is kept back from for the final hooks`),
      );
    }
    for (const problem of budgetProblems(this.options)) {
      if (strict) throw new InvalidGracefulOptionsError(MESSAGES.strictPrefix + problem);
      this.logger.warn(problem);
    }
    if (this.options.logPlan !== false) {
      const text = this.describePlan();
      if (this.options.logPlan) this.logger.log(text);
      else this.logger.debug(text);
    }
    this.telemetry = await loadTelemetry();
  }

  getPlan(): StopPlan {
    return this.plan;
  }

  getFinalPlan(): StopPlan {
    return this.finalPlan;
  }

  /** The plan as the startup log shows it. */
  describePlan(): string {
    const reserve = this.finalPlan.phases.length > 0 ? this.options.finalTimeoutMs : undefined;
    return formatPlan(this.plan, this.finalPlan, { ...this.options, finalTimeoutMs: reserve });
  }

  /** For the testing utilities: faults to inject into hooks, by `Class.method`. */
  injectFaults(faults: Record<string, HookFault>): void {
    this.faults = new Map(Object.entries(faults));
  }

  attach(app: ClosableApplication): void {
    if (this.app) return;
    this.app = app;
    this.listenTo(this.options.signals);
    if (this.options.handleFatalErrors) {
      this.onProcess('uncaughtException', (error) => this.onFatal('uncaughtException', error));
      this.onProcess('unhandledRejection', (reason) => this.onFatal('unhandledRejection', reason));
    }
    const server = this.adapterHost.httpAdapter?.getHttpServer?.();
    if (server) {
      this.drain = new HttpDrain(server);
      this.drain.attach();
      this.listening = this.adapterHost.listen$.subscribe(() => this.record.advance('ready'));
    }
  }

  bootstrapping<T>(step: 'init' | 'listen', done: Promise<T>): Promise<T> {
    const seen = done.then((value) => {
      // Without an HTTP server the application is ready once it has started.
      if (step === 'init' && !this.drain) this.record.advance('ready');
      return value;
    });
    this.bootstraps.push(seen.then(() => undefined, () => undefined));
    return seen;
  }

  listenTo(signals: string[]): void {
    for (const signal of signals.map((s) => s.toUpperCase().trim())) this.onProcess(signal, () => this.onSignal(signal));
  }

  /** Starts a shutdown; every call returns the same promise, that of the first. */
  begin(reason: string, how: { delay: boolean; exit: boolean }): Promise<ShutdownReport> {
    if (this.trigger) {
      if (how.exit) this.trigger.exit = true;
      return this.finished!;
    }
    const finished = this.start(reason, how);
    const app = this.app;
    if (app) {
      app.close(reason).catch((error: unknown) => this.logger.error(MESSAGES.nestCloseFailed(), stackOf(error)));
    } else {
      void this.runShutdown(reason, () => Promise.resolve());
    }
    return finished;
  }

  async runShutdown(signal: string | undefined, nestSequence: () => Promise<void>): Promise<void> {
    const trigger = this.trigger ?? (this.start(signal ?? 'close', { delay: false, exit: false }), this.trigger!);
    let drain: DrainReport | undefined;
    let internalFailure = false;
    try {
      drain = await this.beforeNestHooks(trigger);
    } catch (error) {
      // A bug of ours must not keep Nest's own hooks from running.
      internalFailure = true;
      this.logger.error(MESSAGES.internalError(), stackOf(error));
    }
    let nestFailed = false;
    await this.during("Nest's hooks", async () => {
      try {
        await nestSequence();
      } catch (error) {
        nestFailed = true;
        this.logger.error(MESSAGES.nestCloseFailed(), stackOf(error));
      }
    });
    await this.runFinalHooks().catch((error: unknown) => {
      internalFailure = true;
      this.logger.error(MESSAGES.internalError(), stackOf(error));
    });
    this.complete(this.report({ drain, sequenceFailed: nestFailed || internalFailure }));
  }

  /** The readiness delay, the drain and the hooks: everything before Nest's own hooks. */
  private async beforeNestHooks(trigger: Trigger): Promise<DrainReport> {
    await Promise.all(this.bootstraps);
    if (trigger.delay && this.options.readinessDelayMs > 0 && !this.deadline.signal.aborted) {
      this.logger.log(MESSAGES.readinessDelay(this.options.readinessDelayMs));
      await this.during('readiness delay', () => abortableDelay(this.options.readinessDelayMs, this.deadline.signal));
    }
    const drain = await this.during('drain', () => this.drainTraffic());
    this.record.advance('stopping');
    await this.during('hooks', () => this.scheduler!.run());
    return drain;
  }

  private start(reason: string, how: { delay: boolean; exit: boolean }): Promise<ShutdownReport> {
    const startedAt = Date.now();
    const trigger: Trigger = { reason, ...how, startedAt, deadline: startedAt + this.options.shutdownTimeoutMs };
    this.trigger = trigger;
    this.record.reason = reason;
    this.finished = new Promise((resolve) => (this.finish = resolve));
    this.record.advance('draining');
    this.drain?.closeKeepAlive();
    // The final hooks keep their reserve: everything before them has to be done by then.
    const reserve = this.finalPlan.phases.length > 0 ? this.options.finalTimeoutMs : 0;
    this.deadlineTimer = setTimeout(() => this.onDeadline(), this.options.shutdownTimeoutMs - reserve);
    this.scheduler = this.scheduleOf(this.plan);
    this.telemetry?.started(reason);
    this.logger.log(MESSAGES.shutdownStarted(reason, this.options.shutdownTimeoutMs));
    return this.finished;
  }

  private scheduleOf(plan: StopPlan): StopScheduler {
    return new StopScheduler(plan, (hook, signal) => this.invoke(hook, signal), undefined, {
      hookStarted: (hook, at) => this.hookStarted(hook, at),
      hookEnded: (run) => this.hookEnded(run),
    });
  }

  private async invoke(hook: HookSpec, signal: AbortSignal): Promise<unknown> {
    const call = this.calls.get(hook.key)!;
    const context = { signal, reason: this.trigger!.reason, deadline: this.trigger!.deadline };
    const fault = this.faults.get(hook.name);
    if (!fault) return call(context);
    if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault.hang) return new Promise(() => undefined);
    if (fault.throws !== undefined) throw typeof fault.throws === 'string' ? new Error(fault.throws) : fault.throws;
    return call(context);
  }

  /** Runs a step of the shutdown and records it for the timeline. */
  private async during<T>(name: StageReport['name'], step: () => Promise<T>): Promise<T> {
    this.stage = name === 'hooks' ? 'the hooks' : `the ${name}`;
    const start = Date.now();
    try {
      return await step();
    } finally {
      this.stages.push({ name, start, end: Date.now() });
    }
  }

  private async drainTraffic(): Promise<DrainReport> {
    const { drainTimeoutMs } = this.options;
    let report: DrainReport;
    if (this.drain) {
      report = await this.drain.drain(drainTimeoutMs, () => this.work.settled(), () => this.work.size, this.deadline.signal, (inFlight) =>
        this.logger.log(MESSAGES.drainStarted(inFlight, drainTimeoutMs)),
      );
    } else {
      const startedAt = Date.now();
      const settled = new AbortController();
      await Promise.race([
        this.work.settled().then(() => settled.abort()),
        abortableDelay(drainTimeoutMs, this.deadline.signal, settled.signal),
      ]);
      settled.abort();
      report = { inFlightAtStart: 0, requestsCompleted: 0, idleConnectionsClosed: 0, requestsCut: 0, trackedWorkCut: this.work.size, durationMs: Date.now() - startedAt };
    }
    if (report.requestsCut > 0 || report.trackedWorkCut > 0) {
      this.logger.warn(MESSAGES.drainCut(report.requestsCut, report.trackedWorkCut, drainTimeoutMs));
    } else {
      this.logger.log(MESSAGES.drained(report.requestsCompleted, report.idleConnectionsClosed, report.durationMs));
    }
    return report;
  }

  /** The final phase, once: after Nest's hooks, or at the deadline; bounded by finalTimeoutMs. */
  private runFinalHooks(): Promise<void> {
    if (this.finalPlan.phases.length === 0) return Promise.resolve();
    this.finalRun ??= this.during('final hooks', async () => {
      const scheduler = this.scheduleOf(this.finalPlan);
      const timer = setTimeout(() => scheduler.stop(new Error(MESSAGES.finalReserveReason(this.options.finalTimeoutMs))), this.options.finalTimeoutMs);
      await scheduler.run();
      clearTimeout(timer);
    });
    return this.finalRun;
  }

  private hookStarted(hook: HookSpec, at: number): void {
    this.logger.debug(`${hook.name} started`);
    this.telemetry?.hookStarted(hook);
    this.record.emit({ type: 'hook-start', hook: hook.name, order: hook.order, final: Boolean(hook.final), at });
  }

  private hookEnded(run: HookRun): void {
    this.runs.push(run);
    const { hook } = run;
    const durationMs = run.start === undefined ? undefined : run.end! - run.start;
    const took = durationMs === undefined ? '' : ` (${durationMs} ms)`;
    const at = Date.now();
    if (run.outcome === 'ok') this.logger.log(`${hook.name} stopped${took}`);
    else if (run.outcome === 'error') {
      this.logger.error(`${MESSAGES.hookFailed(hook.name)}${took}`, stackOf(run.error));
      this.record.emit({ type: 'hook-error', hook: hook.name, error: messageOf(run.error), at });
    } else if (run.outcome === 'timeout') {
      this.logger.warn(run.error instanceof HookTimeoutError ? MESSAGES.hookTimedOut(hook.name, hook.timeoutMs) : MESSAGES.hookCutByDeadline(hook.name));
      this.record.emit({ type: 'hook-timeout', hook: hook.name, timeoutMs: hook.timeoutMs, at });
    }
    this.telemetry?.hookEnded(run);
    this.record.emit({
      type: 'hook-end',
      hook: hook.name,
      order: hook.order,
      final: Boolean(hook.final),
      outcome: run.outcome,
      durationMs,
      error: run.error === undefined ? undefined : messageOf(run.error),
      at,
    });
  }

  private onSignal(signal: string): void {
    if (!this.trigger) {
      void this.begin(signal, { delay: signal === 'SIGTERM', exit: true });
      return;
    }
    if (signal === 'SIGINT') {
      this.logger.warn(MESSAGES.interrupted());
      this.exit(GracefulExitCode.Interrupted);
      return;
    }
    this.logger.warn(MESSAGES.repeatedSignal(signal, this.trigger.reason));
    this.trigger.exit = true;
  }

  private onFatal(kind: string, error: unknown): void {
    this.logger.error(MESSAGES.fatalError(kind, messageOf(error)), stackOf(error));
    const first = this.record.fatalError === undefined;
    this.record.fatalError ??= error;
    if (!this.trigger) {
      void this.begin('error', { delay: true, exit: true });
    } else if (this.trigger.reason === 'error' || !first) {
      this.logger.error(MESSAGES.secondFatalError());
      this.exit(GracefulExitCode.Failed);
    }
  }

  private onDeadline(): void {
    const hooks = this.scheduler?.runningHooks().map((hook) => hook.name) ?? [];
    const running = hooks.length > 0 ? hooks : [this.stage];
    this.record.deadlineExceeded = true;
    const reason = new Error(MESSAGES.deadlineReason(this.options.shutdownTimeoutMs));
    this.deadline.abort(reason);
    this.scheduler?.stop(reason);
    const trigger = this.trigger!;
    this.logger.error(MESSAGES.deadlineExceeded(this.options.shutdownTimeoutMs, running, trigger.exit));
    if (!trigger.exit) return;
    // Exit now; the final hooks still get their reserve first.
    void this.runFinalHooks()
      .then(() => this.publish(this.report({ sequenceFailed: false })))
      .finally(() => this.exit(GracefulExitCode.DeadlineExceeded));
  }

  private report(parts: { drain?: DrainReport; sequenceFailed: boolean }): ShutdownReport {
    const trigger = this.trigger!;
    const byKey = new Map(this.runs.map((run) => [run.hook.key, run]));
    const hooks: HookReport[] = [this.plan, this.finalPlan].flatMap((plan) =>
      plan.phases.flatMap((phase) =>
        phase.units.flatMap((unit) =>
          unit.hooks.map((hook) => {
            const run = byKey.get(hook.key);
            return {
              name: hook.name,
              order: hook.order,
              ...(hook.final ? { final: true } : {}),
              start: run?.start,
              end: run?.end,
              durationMs: run?.start === undefined ? undefined : run.end! - run.start,
              outcome: run?.outcome ?? 'skipped',
              error: run?.error === undefined ? undefined : messageOf(run.error),
            };
          }),
        ),
      ),
    );
    const endedAt = Date.now();
    const failed =
      hooks.some((hook) => hook.outcome === 'error' || hook.outcome === 'timeout') ||
      (parts.drain !== undefined && (parts.drain.requestsCut > 0 || parts.drain.trackedWorkCut > 0)) ||
      parts.sequenceFailed ||
      this.record.fatalError !== undefined;
    const exitCode = this.record.deadlineExceeded ? GracefulExitCode.DeadlineExceeded : failed ? GracefulExitCode.Failed : GracefulExitCode.Clean;
    return {
      reason: trigger.reason,
      startedAt: trigger.startedAt,
      endedAt,
      durationMs: endedAt - trigger.startedAt,
      readinessDelayMs: this.stages.find((stage) => stage.name === 'readiness delay') ? this.options.readinessDelayMs : 0,
      drain: parts.drain,
      stages: [...this.stages],
      hooks,
      deadlineExceeded: this.record.deadlineExceeded,
      ...(this.record.fatalError !== undefined ? { fatalError: messageOf(this.record.fatalError) } : {}),
      exitCode,
    };
  }

  /**
   * Records the report: lastReport, the timeline and summary in the log, the
   * report file, telemetry. A throwing logger or exporter must not keep the
   * process from exiting, so nothing escapes.
   */
  private publish(report: ShutdownReport): void {
    this.record.lastReport = report;
    try {
      this.announce(report);
    } catch (error) {
      process.stderr.write(`${MESSAGES.internalError()}\n${stackOf(error) ?? String(error)}\n`);
    }
  }

  private announce(report: ShutdownReport): void {
    const count = (outcome: string) => report.hooks.filter((hook) => hook.outcome === outcome).length;
    this.logger.log(formatTimeline(report));
    this.logger.log(MESSAGES.summary(report.reason, report.durationMs, count('ok'), count('error'), count('timeout'), count('skipped'), report.exitCode));
    if (this.options.reportFile) {
      try {
        writeFileSync(this.options.reportFile, `${JSON.stringify(report, null, 2)}\n`);
      } catch (error) {
        this.logger.error(MESSAGES.reportFileFailed(this.options.reportFile), stackOf(error));
      }
    }
    this.telemetry?.ended(report);
  }

  private complete(report: ShutdownReport): void {
    clearTimeout(this.deadlineTimer);
    this.publish(report);
    this.record.advance('stopped');
    this.release();
    this.finish(report);
    if (this.trigger!.exit) this.exit(report.exitCode);
  }

  private onProcess(event: string, handler: (...args: unknown[]) => void): void {
    if (this.processHandlers.has(event)) return;
    this.processHandlers.set(event, handler);
    process.on(event, handler);
  }

  /** Leaves nothing behind: no process listener, no server listener, no registry entry. */
  private release(): void {
    for (const [event, handler] of this.processHandlers) process.removeListener(event, handler);
    this.processHandlers.clear();
    this.drain?.detach();
    this.listening?.unsubscribe();
    unregisterShutdownHost(this.modules);
  }

  private exit(code: number): void {
    process.exitCode = code;
    process.exit(code);
  }
}

function stackOf(error: unknown): string | undefined {
  return error instanceof Error ? error.stack : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
