import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
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
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { GRACEFUL_MODULE_OPTIONS, GracefulExitCode } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import { buildStopPlan, type StopPlan } from '../graph/stop-graph.js';
import type { DrainReport, HookReport, ShutdownReport } from '../interfaces/shutdown-report.interface.js';
import { LifecycleRecord } from '../lifecycle/lifecycle.state.js';
import { budgetProblems, type ResolvedGracefulOptions } from '../options/graceful-options.js';
import { StopScheduler, type HookRun } from '../scheduler/stop.scheduler.js';
import { abortableDelay } from './abortable-delay.js';

/** What started the shutdown, and what it may do. */
interface Trigger {
  reason: string;
  /** Wait `readinessDelayMs` first (SIGTERM and `shutdown()`). */
  delay: boolean;
  /** End the process when done (signals and `shutdown()`, not `app.close()`). */
  exit: boolean;
  startedAt: number;
  deadline: number;
}

/**
 * Runs the one shutdown path: readiness down, delay, drain, `@OnShutdown`
 * hooks by the stop plan, Nest's own hooks, report, exit, all within the
 * deadline. It is the application's shutdown host: signals, `app.close()` and
 * `shutdown()` all arrive here. Nothing in it throws out to Nest.
 */
@Injectable()
export class ShutdownOrchestrator implements ShutdownHost, OnModuleInit {
  private readonly logger;
  private plan: StopPlan = { phases: [], warnings: [], worstCaseMs: 0 };
  private calls = new Map<string, HookCall>();
  private app?: ClosableApplication;
  private readonly bootstraps: Array<Promise<void>> = [];
  private readonly signalHandlers = new Map<string, () => void>();
  private drain?: HttpDrain;
  private listening?: Subscription;
  private trigger?: Trigger;
  private scheduler?: StopScheduler;
  private readonly runs: HookRun[] = [];
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
  onModuleInit(): void {
    const { graph, calls } = this.explorer.explore();
    this.calls = calls;
    this.plan = buildStopPlan(graph, { strict: this.options.strict });
    for (const warning of this.plan.warnings) this.logger.warn(warning.message);
    for (const problem of budgetProblems(this.options)) {
      if (this.options.strict) throw new InvalidGracefulOptionsError(MESSAGES.strictPrefix + problem);
      this.logger.warn(problem);
    }
    const hooks = this.plan.phases.reduce((n, phase) => n + phase.units.reduce((m, unit) => m + unit.hooks.length, 0), 0);
    this.logger.debug(`Stop plan: ${hooks} hook(s) in ${this.plan.phases.length} phase(s); worst case ${this.plan.worstCaseMs} ms if every hook times out.`);
  }

  getPlan(): StopPlan {
    return this.plan;
  }

  attach(app: ClosableApplication): void {
    if (this.app) return;
    this.app = app;
    this.listenTo(this.options.signals);
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
    for (const signal of signals.map((s) => s.toUpperCase().trim())) {
      if (this.signalHandlers.has(signal)) continue;
      const handler = () => this.onSignal(signal);
      this.signalHandlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  /** Starts the shutdown that ends the process (signals, `shutdown()`); every call returns the same promise. */
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
    await Promise.all(this.bootstraps);
    let readinessDelayMs = 0;
    if (trigger.delay && this.options.readinessDelayMs > 0 && !this.deadline.signal.aborted) {
      this.stage = 'the readiness delay';
      this.logger.log(MESSAGES.readinessDelay(this.options.readinessDelayMs));
      const before = Date.now();
      await abortableDelay(this.options.readinessDelayMs, this.deadline.signal);
      readinessDelayMs = Date.now() - before;
    }
    this.stage = 'the drain';
    const drain = await this.drainTraffic();
    this.record.advance('stopping');
    await this.scheduler!.run();
    this.stage = "Nest's own shutdown hooks";
    let nestError: unknown;
    try {
      await nestSequence();
    } catch (error) {
      nestError = error;
      this.logger.error(MESSAGES.nestCloseFailed(), stackOf(error));
    }
    this.complete(this.report({ readinessDelayMs, drain, nestFailed: nestError !== undefined }));
  }

  private start(reason: string, how: { delay: boolean; exit: boolean }): Promise<ShutdownReport> {
    const startedAt = Date.now();
    this.trigger = { reason, ...how, startedAt, deadline: startedAt + this.options.shutdownTimeoutMs };
    this.finished = new Promise((resolve) => (this.finish = resolve));
    this.record.advance('draining');
    this.deadlineTimer = setTimeout(() => this.onDeadline(), this.options.shutdownTimeoutMs);
    this.scheduler = new StopScheduler(this.plan, (hook, signal) => this.calls.get(hook.key)!({ signal, reason, deadline: this.trigger!.deadline }), undefined, {
      hookStarted: (hook) => this.logger.debug(`${hook.name} started`),
      hookEnded: (run) => this.hookEnded(run),
    });
    this.logger.log(MESSAGES.shutdownStarted(reason, this.options.shutdownTimeoutMs));
    return this.finished;
  }

  private async drainTraffic(): Promise<DrainReport> {
    const { drainTimeoutMs } = this.options;
    let report: DrainReport;
    if (this.drain) {
      this.logger.log(MESSAGES.drainStarted(this.drain.inFlight, drainTimeoutMs));
      report = await this.drain.drain(drainTimeoutMs, () => this.work.settled(), () => this.work.size, this.deadline.signal);
    } else {
      const startedAt = Date.now();
      const settled = new AbortController();
      await Promise.race([
        this.work.settled().then(() => settled.abort()),
        abortableDelay(drainTimeoutMs, this.deadline.signal, settled.signal),
      ]);
      report = { inFlightAtStart: 0, requestsCompleted: 0, idleConnectionsClosed: 0, requestsCut: 0, trackedWorkCut: this.work.size, durationMs: Date.now() - startedAt };
    }
    if (report.requestsCut > 0 || report.trackedWorkCut > 0) {
      this.logger.warn(MESSAGES.drainCut(report.requestsCut, report.trackedWorkCut, drainTimeoutMs));
    } else {
      this.logger.log(MESSAGES.drained(report.requestsCompleted, report.idleConnectionsClosed, report.durationMs));
    }
    return report;
  }

  private hookEnded(run: HookRun): void {
    this.runs.push(run);
    const took = run.start === undefined ? '' : ` (${run.end! - run.start} ms)`;
    if (run.outcome === 'ok') this.logger.log(`${run.hook.name} stopped${took}`);
    else if (run.outcome === 'error') this.logger.error(`${MESSAGES.hookFailed(run.hook.name)}${took}`, stackOf(run.error));
    else if (run.outcome === 'timeout' && !this.deadline.signal.aborted) this.logger.warn(MESSAGES.hookTimedOut(run.hook.name, run.hook.timeoutMs));
    else if (run.outcome === 'timeout') this.logger.warn(MESSAGES.hookCutByDeadline(run.hook.name));
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

  private onDeadline(): void {
    const hooks = this.scheduler?.runningHooks().map((hook) => hook.name) ?? [];
    const running = hooks.length > 0 ? hooks : [this.stage];
    this.record.deadlineExceeded = true;
    const reason = new Error(MESSAGES.deadlineReason(this.options.shutdownTimeoutMs));
    this.deadline.abort(reason);
    this.scheduler?.stop(reason);
    this.logger.error(MESSAGES.deadlineExceeded(this.options.shutdownTimeoutMs, running, this.trigger!.exit));
    if (this.trigger!.exit) {
      this.record.lastReport = this.report({ readinessDelayMs: 0, nestFailed: false });
      this.exit(GracefulExitCode.DeadlineExceeded);
    }
  }

  private report(parts: { readinessDelayMs: number; drain?: DrainReport; nestFailed: boolean }): ShutdownReport {
    const trigger = this.trigger!;
    const byKey = new Map(this.runs.map((run) => [run.hook.key, run]));
    const hooks: HookReport[] = this.plan.phases.flatMap((phase) =>
      phase.units.flatMap((unit) =>
        unit.hooks.map((hook) => {
          const run = byKey.get(hook.key);
          return {
            name: hook.name,
            order: hook.order,
            start: run?.start,
            end: run?.end,
            durationMs: run?.start === undefined ? undefined : run.end! - run.start,
            outcome: run?.outcome ?? 'skipped',
            error: run?.error === undefined ? undefined : messageOf(run.error),
          };
        }),
      ),
    );
    const endedAt = Date.now();
    const failed =
      hooks.some((hook) => hook.outcome === 'error' || hook.outcome === 'timeout') ||
      (parts.drain !== undefined && (parts.drain.requestsCut > 0 || parts.drain.trackedWorkCut > 0)) ||
      parts.nestFailed ||
      trigger.reason === 'error';
    const exitCode = this.record.deadlineExceeded ? GracefulExitCode.DeadlineExceeded : failed ? GracefulExitCode.Failed : GracefulExitCode.Clean;
    return {
      reason: trigger.reason,
      startedAt: trigger.startedAt,
      endedAt,
      durationMs: endedAt - trigger.startedAt,
      readinessDelayMs: parts.readinessDelayMs,
      drain: parts.drain,
      hooks,
      deadlineExceeded: this.record.deadlineExceeded,
      exitCode,
    };
  }

  private complete(report: ShutdownReport): void {
    clearTimeout(this.deadlineTimer);
    this.record.lastReport = report;
    this.record.advance('stopped');
    const count = (outcome: string) => report.hooks.filter((hook) => hook.outcome === outcome).length;
    this.logger.log(MESSAGES.summary(report.reason, report.durationMs, count('ok'), count('error'), count('timeout'), count('skipped'), report.exitCode));
    this.release();
    this.finish(report);
    if (this.trigger!.exit) this.exit(report.exitCode);
  }

  /** Leaves nothing behind: no process listener, no server listener, no registry entry. */
  private release(): void {
    for (const [signal, handler] of this.signalHandlers) process.removeListener(signal, handler);
    this.signalHandlers.clear();
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
