import { setMaxListeners } from 'node:events';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { registerShutdownHost, unregisterShutdownHost, type ClosableApplication, type ShutdownHost } from '../adapter/nest.adapter.js';
import type { HttpDrain } from '../drain/http.drain.js';
import { HttpServerRegistry } from '../drain/http-server.registry.js';
import { drainIntake } from '../drain/traffic.drain.js';
import { TrafficWatch } from '../drain/traffic.watch.js';
import { WorkTracker } from '../drain/work.tracker.js';
import { GRACEFUL_MODULE_OPTIONS } from '../graceful.constants.js';
import { createGracefulLogger, descriptionLevel } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import { IntakeRegistry } from '../intake/intake.registry.js';
import type { ExitCall, OpenHandleReport, ShutdownReport } from '../interfaces/shutdown-report.interface.js';
import { LifecycleRecord } from '../lifecycle/lifecycle.record.js';
import { ReadinessHolder } from '../lifecycle/readiness.holder.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { stopChildren } from '../process/child-processes.js';
import { claimCreateWindow } from '../process/create.window.js';
import { HandleWatch } from '../process/open-handles.js';
import { ProcessEvents } from '../process/process.events.js';
import { ProcessSignals } from '../process/process-signals.js';
import { stopWorkers } from '../process/worker-threads.js';
import { buildShutdownReport, stackOf } from '../report/shutdown-report.builder.js';
import { StartupSequence } from '../startup/startup.sequence.js';
import { untilAborted } from './abortable-delay.js';
import { HooksStage, type HookWrapper } from './hooks.stage.js';
import { readinessDelay } from './readiness-delay.stage.js';
import { ShutdownPlanner } from './shutdown.planner.js';
import { ShutdownRun, type Trigger } from './shutdown.run.js';
import { StartupDiagnostics } from './startup.diagnostics.js';

/** How long what the last stages closed may take to finish closing before the open handles are listed. */
const OPEN_HANDLES_SETTLE_MS = 50;

export type { Trigger } from './shutdown.run.js';
export type { HookWrapper } from './hooks.stage.js';

/**
 * The shutdown, run at most once per application (the startup before it is
 * lib/startup/startup.sequence.ts: a failed or interrupted startup is rolled
 * back by this same run; what signals, fatal errors and PM2 messages do is
 * lib/process/process.events.ts). Signals, fatal errors,
 * `app.close()` and `shutdown()` all enter here and get the same run, which
 * decides its outcome once, publishes one report and exits once:
 *
 *   bootstrap -> plan -> readiness delay -> drain -> hooks -> Nest's hooks
 *   -> final hooks -> report -> exit
 *
 * The deadline only aborts what is running; the watchdog ends a process
 * whose event loop is blocked. Nothing here throws out to Nest.
 */
@Injectable()
export class ShutdownSequence implements ShutdownHost {
  private readonly logger;
  private app?: ClosableApplication;
  private http?: HttpDrain;
  /** Every HTTP server drained: the application's, those it is served through, those handed to `drainServer()`. */
  private readonly servers = new HttpServerRegistry((name) => this.logger.warn(MESSAGES.serverAfterDrain(name)));
  /** Aborts when the drain begins: `GracefulLifecycleService.drainSignal`. Made when first asked for (most apps never ask). */
  private drainBegan?: AbortController;
  /** Why the drain began, once it has: a signal first asked for after that is born aborted. */
  private drainReason?: DOMException;
  private run?: ShutdownRun;
  /** Runs the stop plans: the hooks stage and the final hooks'. */
  private readonly hooks: HooksStage;
  /** Set by `created()` until the next turn: releases the signals of a module never started. */
  private unstartedCheck?: NodeJS.Immediate;
  /** What the process held when the module was created: left out of the open handles at the end. */
  private readonly handles: HandleWatch;
  /** Signals, fatal errors, PM2's messages: what each does to the run (lib/process). */
  private readonly events: ProcessEvents;
  /** The startup, from this construction until the application has started (lib/startup). */
  readonly startup: StartupSequence;
  constructor(
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
    private readonly planner: ShutdownPlanner,
    private readonly record: LifecycleRecord,
    private readonly work: WorkTracker,
    private readonly adapterHost: HttpAdapterHost,
    private readonly modules: ModulesContainer,
    private readonly process: ProcessSignals,
    private readonly intake: IntakeRegistry,
    private readonly diagnostics: StartupDiagnostics,
    private readonly readiness: ReadinessHolder,
  ) {
    this.logger = createGracefulLogger(options.logger, 'GracefulShutdown');
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- read by the startup's getters
    const sequence = this;
    this.handles = new HandleWatch(options.traceHandles);
    this.hooks = new HooksStage(() => planner.calls, record);
    this.startup = new StartupSequence(options, record, modules, this.logger, {
      get shuttingDown() {
        return sequence.run !== undefined;
      },
      get attached() {
        return sequence.app !== undefined;
      },
      rollBack: () => this.begin('startup-failed', { delay: false, exit: this.options.signals.length > 0 && !isTestingModule(this.app) }),
      initialized: () => this.initialized(),
    });
    this.events = new ProcessEvents(options, process, record, this.logger, {
      get runReason() {
        return sequence.run?.trigger.reason;
      },
      begin: (reason, how) => void this.begin(reason, how),
      exitWhenDone: () => this.run?.exitWhenDone(),
      startupInterruption: (signal) => (this.startup.running ? this.startup.describeInterruption(signal) : undefined),
    });
    registerShutdownHost(modules, this);
    // Inside NestFactory.create() (an async factory may still be connecting) a signal goes through the one sequence from here on,
    // with those that arrived before the module existed; a module built otherwise (a testing module) listens once attached.
    // There, startupTimeoutMs counts from now: a factory that never resolves is a hung start too.
    if (
      claimCreateWindow(
        options,
        () => this.listenTo(options.signals),
        (signal) => this.events.onSignal(signal),
        (error) => this.createRejected(error),
      )
    )
      this.startup.armTimeout();
  }

  /**
   * NestFactory has created the application on this container. A module
   * compiled and never started leaves nothing behind: unless an application
   * attaches by the next turn of the event loop (`init()`, `listen()`,
   * `enableShutdownHooks()`; `main.ts` usually calls them at once), the
   * signals are released, and `attach()` listens again.
   */
  created(): void {
    this.startup.created();
    this.unstartedCheck = setImmediate(() => {
      if (this.app || this.run) return;
      this.process.releaseSignals();
      this.startup.stopWatching();
    });
  }

  /**
   * The NestFactory.create*() call that constructed this module rejected
   * after it (`abortOnError: false`: a provider constructed after this one
   * threw): a failed startup like a failed `init()`, rolled back (the hooks of
   * what Nest had constructed), reported, and nothing left listening; the
   * caller gets the error afterwards. A run already under way (a signal, the
   * startup timeout) is that rollback.
   */
  private async createRejected(error: unknown): Promise<void> {
    if (this.run) {
      await this.run.done;
      return;
    }
    if (!this.app) await this.startup.fail('NestFactory.create()', error);
  }

  /** Starts the shutdown, or joins the one under way: every call returns the same report. */
  begin(reason: string, how: Omit<Trigger, 'reason'>): Promise<ShutdownReport> {
    if (this.run) {
      if (how.exit) this.run.exitWhenDone();
      return this.run.done;
    }
    const run = this.start({ reason, ...how });
    // Through Nest's close(), so that it knows it is closing; it hands its sequence back to runShutdown().
    if (this.app) this.app.close(reason).catch((error: unknown) => this.logger.error(MESSAGES.nestCloseFailed(), stackOf(error)));
    else run.offerNestSequence(() => Promise.resolve());
    return run.done;
  }

  /** Nest's close() (or its signal handler) arrived: the first one's sequence is the one that runs. */
  runShutdown(signal: string | undefined, nestSequence: (abandonInit?: boolean) => Promise<void>): Promise<void> {
    const run = this.run ?? this.start({ reason: signal ?? 'close', delay: false, exit: false });
    run.offerNestSequence(nestSequence);
    return run.done.then(() => undefined);
  }

  private start(trigger: Trigger): ShutdownRun {
    this.startup.interrupt(trigger.reason);
    const run = new ShutdownRun(trigger, {
      shutdownTimeoutMs: this.options.shutdownTimeoutMs,
      finalReserveMs: () => this.planner.finalReserveMs,
      record: this.record,
      logger: this.logger,
      process: this.process,
    });
    this.run = run;
    this.record.reason = trigger.reason;
    this.record.deadline = run.deadline;
    this.process.guardExit((call) => this.onExitCall(run, call));
    this.record.emit({ type: 'shutdown-start', reason: trigger.reason, deadline: run.deadline, at: run.startedAt });
    if (trigger.delay && this.delayBoundMs() > 0) {
      run.traffic = new TrafficWatch(this.servers.size > 0 ? this.servers.events : undefined, run.startedAt);
      this.record.onReadinessDown = () => run.traffic?.probeDown();
    }
    this.record.advance('draining');
    this.servers.closeKeepAlive();
    run.armDeadline();
    if (trigger.exit) run.exitWhenDone();
    run.done = this.execute(run);
    return run;
  }

  /** The stages in order. Each is bounded by the deadline; a failure of ours still lets Nest's hooks run. */
  private async execute(run: ShutdownRun): Promise<ShutdownReport> {
    const { options } = this;
    try {
      run.abandonedStartup = await this.startup.settled(run.startedAt, run.expired.signal);
      // A startup stopped before the hooks were planned rolls back what Nest has constructed.
      if (this.startup.error) this.planner.planConstructed();
      // Taken now, once the bootstrap that found the hooks has ended.
      const { plan, finalPlan } = this.planner;
      run.armDeadline();
      if (run.traffic) {
        const rule = { boundMs: this.delayBoundMs(), floorMs: options.readinessMinDelayMs, quietMs: options.readinessQuietMs };
        run.delay = await run.stage('readiness delay', () => readinessDelay(rule, run.startedAt, run.traffic!, run.expired.signal, this.logger));
        this.record.onReadinessDown = undefined;
      }
      const outcome = await run.stage('drain', () => this.drain(run));
      run.drain = outcome.drain;
      run.intake = outcome.intake;
      this.record.advance('stopping');
      await run.stage('hooks', () => this.hooks.run(run, plan));
      await run.stage("Nest's hooks", () => this.nestHooks(run));
      const children = this.handles.children();
      if (children.length > 0) {
        run.children = await run.stage('child processes', () => stopChildren(children, run.expired.signal));
        this.logger.warn(MESSAGES.childrenStopped(run.children.map((child) => `${child.name} by ${child.stoppedBy}`)));
      }
      const workers = this.handles.workers();
      if (workers.length > 0) {
        run.workers = await run.stage('worker threads', () => stopWorkers(workers, run.expired.signal));
        this.logger.warn(MESSAGES.workersStopped(run.workers.map((worker) => worker.name)));
      }
      // The final phase has a bound of its own, kept back from the deadline.
      run.disarmDeadline();
      if (finalPlan.phases.length > 0) await run.stage('final hooks', () => this.hooks.run(run, finalPlan, options.finalTimeoutMs));
    } catch (error) {
      run.failed = true;
      this.logger.error(MESSAGES.internalError(), stackOf(error));
      await this.nestHooks(run);
    }
    // What the last stages closed needs a few turns to finish closing: only then is what stays open known.
    const openHandles = await this.handles.settled(OPEN_HANDLES_SETTLE_MS, run.trigger.exit);
    return this.finish(run, openHandles);
  }

  /** Every source of work stops taking work and finishes what it took: the HTTP servers, then the intake. */
  private drain(run: ShutdownRun): ReturnType<typeof drainIntake> {
    this.drainReason = new DOMException(MESSAGES.drainBeganReason(run.trigger.reason), 'AbortError');
    this.drainBegan?.abort(this.drainReason);
    const sources = this.intake.sources();
    return drainIntake(this.servers, this.work, sources, this.options.drainTimeoutMs, run.expired.signal, this.logger, (source) =>
      this.record.emit({ type: 'intake-end', source, at: source.end }),
    );
  }

  /** The delay's bound for this shutdown: none where nobody probed readiness before the signal, if the defaults say so. */
  private delayBoundMs(): number {
    const { readinessDelayMs, readinessDelayIfProbed } = this.options;
    return readinessDelayIfProbed && this.record.readinessProbedAt === undefined ? 0 : readinessDelayMs;
  }

  /**
   * Nest's own hooks, once. A process that is to exit waits for them only
   * until the deadline (and past it does not start them); `app.close()` in
   * code waits for them as Nest would.
   */
  private async nestHooks(run: ShutdownRun): Promise<void> {
    if (!run.nestHooks) {
      if (run.trigger.exit && run.expired.signal.aborted) return;
      run.nestHooks = run.nestSequence
        .then((nest) => nest(run.abandonedStartup || run.expired.signal.aborted || this.startup.error !== undefined))
        .catch((error: unknown) => {
          run.failed = true;
          this.logger.error(MESSAGES.nestCloseFailed(), stackOf(error));
        });
    }
    await (run.trigger.exit ? untilAborted(run.nestHooks, run.expired.signal) : run.nestHooks);
  }

  /** Decides the outcome, once; publishes it, once; exits, once. */
  private finish(run: ShutdownRun, openHandles: OpenHandleReport[]): ShutdownReport {
    run.end();
    const report = buildShutdownReport({
      reason: run.trigger.reason,
      startedAt: run.startedAt,
      endedAt: Date.now(),
      plans: [this.planner.plan, this.planner.finalPlan],
      runs: run.hookRuns,
      stages: run.stages,
      readinessDelay: run.delay,
      drain: run.drain,
      intake: run.intake,
      deadlineExceeded: this.record.deadlineExceeded,
      fatalError: this.record.fatalError,
      sequenceFailed: run.failed,
      exitCalls: run.exitCalls,
      children: run.children,
      workers: run.workers,
      openHandles,
      startupError: this.startup.error?.error,
      startup: this.startup.error && { failedAt: this.startup.error.where, neverStarted: this.neverStarted() },
    });
    if (report.startup) this.logger.warn(MESSAGES.startupRolledBack(report.startup.rolledBack, report.startup.neverStarted));
    if (report.openHandles!.length > 0) this.logger.warn(MESSAGES.openHandles(report.openHandles!, run.trigger.exit));
    this.record.lastReport = report;
    this.record.emit({ type: 'shutdown-end', report, at: report.endedAt });
    this.record.advance('stopped');
    this.release();
    if (run.trigger.exit) this.process.exit(report.exitCode);
    run.stopWatchdog();
    return report;
  }

  /** What a failed startup never reached; the report is built even if the lookup fails. */
  private neverStarted(): string[] {
    try {
      return this.startup.neverStarted(this.readiness.warmUpsNotStarted(), ShutdownSequence);
    } catch (error) {
      this.logger.error(MESSAGES.internalError(), stackOf(error));
      return [];
    }
  }

  // The process side (lib/process/process.events.ts) ends here: a process.exit() call joins the run.

  private onExitCall(run: ShutdownRun, call: ExitCall): void {
    run.exitCalls.push(call);
    this.record.emit({ type: 'process-exit-call', code: call.code, caller: call.caller, at: call.at });
    run.exitWhenDone();
  }

  // The Nest side: the adapter calls these as the application boots.

  isApplication(app: unknown): boolean {
    return app === this.app;
  }

  attach(app: ClosableApplication): void {
    if (this.app) return;
    this.app = app;
    // Started: the check for a module never started has nothing to do (and must not keep the application alive until it runs).
    clearImmediate(this.unstartedCheck);
    this.diagnostics.watch();
    this.listenTo(this.options.signals);
    this.startup.attach();
    this.events.attach();
    const adapter = this.adapterHost.httpAdapter;
    const server = adapter?.getHttpServer?.();
    if (server) {
      // Serves once a server of the application listens (app.listen() among them): armed when init() ends.
      this.http = this.servers.setMain(server, adapter.getInstance?.());
    }
    this.intake.prepare(app, this.http, this.servers);
  }

  bootstrapping<T>(step: 'init' | 'listen', start: () => Promise<T>): Promise<T> {
    return this.startup.step(step, start);
  }

  /** `init()` ended well. */
  private initialized(): void {
    // Without an HTTP server the application serves once it has started (ready once its warm-ups end).
    if (!this.http) this.serve();
    // Once a server the application serves through listens: its own (app.listen()), or one of Nest's multiple-servers recipe.
    else this.servers.whenServing(() => this.serve());
    this.logIntake();
    // With `strict`, a problem found here fails init(): the application does not start.
    this.diagnostics.check(this.app);
  }

  /** The application serves: the warm-ups start; one that fails or times out fails the startup. */
  private serve(): void {
    this.readiness.serve((warmUp, error) => void this.startup.fail(`the warm-up ${warmUp}`, error));
  }

  /** Drains `server` with the application's (`GracefulLifecycleService.drainServer`). */
  drainServer(server: unknown, name?: string): void {
    const candidate = server as Partial<HttpDrain['server']> | null | undefined;
    if (typeof candidate?.close !== 'function' || typeof candidate.prependListener !== 'function' || typeof candidate.listenerCount !== 'function') {
      throw new TypeError(MESSAGES.drainServerInvalid(server));
    }
    this.servers.add(candidate as HttpDrain['server'], name);
  }

  /** Aborts when the drain begins. */
  get drainSignal(): AbortSignal {
    if (!this.drainBegan) {
      this.drainBegan = new AbortController();
      // Every long request may listen to it.
      setMaxListeners(0, this.drainBegan.signal);
      if (this.drainReason) this.drainBegan.abort(this.drainReason);
    }
    return this.drainBegan.signal;
  }

  /** The sources the drain will stop, beside the stop plan (and at its level): looked up only if the line shows. */
  private logIntake(): void {
    const level = descriptionLevel(this.options.logger, this.options.logPlan);
    if (!level) return;
    try {
      this.logger[level](MESSAGES.intakePlan([...this.servers.names(), ...this.intake.sources().map((source) => source.name)]));
    } catch (error) {
      this.logger.error(MESSAGES.internalError(), stackOf(error));
    }
  }

  listenTo(signals: string[]): void {
    this.events.listenTo(signals);
  }

  /** For the testing utilities: how each hook is called. */
  useHookWrapper(wrap: HookWrapper): void {
    this.hooks.useWrapper(wrap);
  }

  /** Leaves nothing behind: no process listener, no exit guard, no server listener, no registry entry. */
  private release(): void {
    clearImmediate(this.unstartedCheck);
    this.process.release();
    this.servers.release();
    this.intake.release();
    this.diagnostics.release();
    this.handles.release();
    // A delay the deadline kept from starting leaves its watch on the server.
    this.run?.traffic?.stop();
    unregisterShutdownHost(this.modules);
  }
}

/** A `@nestjs/testing` module: a failed startup there reaches the test, and never ends its process. */
function isTestingModule(app: unknown): boolean {
  for (let proto = app ? Object.getPrototypeOf(app) : undefined; proto; proto = Object.getPrototypeOf(proto)) {
    if ((proto as { constructor?: { name?: string } }).constructor?.name === 'TestingModule') return true;
  }
  return false;
}
