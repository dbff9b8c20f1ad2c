/**
 * Every message the module shows a user, in one place. Each one names what
 * to change.
 */
import { namesAtMost } from './shutdown/running-hooks.list.js';

export const MESSAGES = {
  invalidOption: (option: string, value: unknown, expected: string) => `GracefulModule: option "${option}" is ${describe(value)}; it must be ${expected}.`,
  unknownSignal: (value: string) =>
    `GracefulModule: option "signals" names "${value}", which is not a signal of this platform; use names such as 'SIGTERM' or 'SIGINT'.`,
  invalidHookOption: (target: string, option: string, value: unknown, expected: string) =>
    `@OnShutdown() on ${target}: option "${option}" is ${describe(value)}; it must be ${expected}.`,
  notAMethod: (target: string) => `@OnShutdown() on ${target}: it decorates methods only; move it onto the method that releases the resource.`,
  staticMethod: (target: string) =>
    `@OnShutdown() on ${target}: static methods are never called by the module; make it an instance method of a provider or controller.`,
  nonStaticProvider: (hook: string) =>
    `@OnShutdown() on ${hook} is skipped: request-scoped and transient providers have no single instance to stop. Move the hook into a singleton provider.`,
  cycle: (classes: string[], stopOrder: string[]) =>
    `Dependency cycle between ${classes.join(', ')}: their shutdown hooks run in the reverse of registration order (${stopOrder.join(' -> ')}). Remove the cycle, or give the hooks distinct "order" values to make the order explicit.`,
  orderConflict: (dependent: string, dependency: string, dependentOrder: number, dependencyOrder: number) =>
    `${dependent} depends on ${dependency}, but its @OnShutdown order (${dependentOrder}) is higher than ${dependency}'s (${dependencyOrder}), so ${dependency} stops first. The explicit order wins; lower ${dependent}'s order or raise ${dependency}'s if that is not what you meant.`,
  strictPrefix: 'GracefulModule (strict): ',
  budgetHooksSqueezed: (readinessDelayMs: number, drainTimeoutMs: number, shutdownTimeoutMs: number) =>
    `readinessDelayMs (${readinessDelayMs}) + drainTimeoutMs (${drainTimeoutMs}) leave the shutdown hooks less than a fifth of shutdownTimeoutMs (${shutdownTimeoutMs}); shorten the delay or the drain, or raise shutdownTimeoutMs.`,
  budgetOverGracePeriod: (shutdownTimeoutMs: number, gracePeriodMs: number, preStopMs: number, platform?: string) =>
    `${preStopMs > 0 ? `preStopMs (${preStopMs}) + ` : ''}shutdownTimeoutMs (${shutdownTimeoutMs}) does not fit inside the grace period of ${gracePeriodMs} ms` +
    `${platform ? ` (${platform}'s default; set gracePeriodMs if yours differs)` : ' (gracePeriodMs)'} with time to spare, so the process may be killed before the shutdown ends; ` +
    `lower shutdownTimeoutMs${preStopMs > 0 ? ' or the preStop sleep' : ''}, or raise the grace period (terminationGracePeriodSeconds, kill_timeout, stop_grace_period, stopTimeout).`,
  repeatedSignal: (signal: string, reason: string) => `Received ${signal} while already shutting down (${reason}); the shutdown goes on unchanged.`,
  firstInterrupt: (reason: string) =>
    `Received SIGINT while already shutting down (${reason}); the process exits when the shutdown ends. Press Ctrl+C again to exit at once with 130.`,
  interrupted: () => 'Second SIGINT during the shutdown: exiting now with 130.',
  shutdownStarted: (reason: string, deadlineMs: number) => `Graceful shutdown started (${reason}); deadline in ${deadlineMs} ms.`,
  readinessDelay: (boundMs: number, floorMs: number, quietMs: number) =>
    `Readiness reports down; serving until load balancers have stopped sending: once a readiness probe has seen it down and only probes arrived for ${quietMs} ms` +
    `${floorMs > 0 ? `, not before ${floorMs} ms` : ''}, at most ${boundMs} ms.`,
  startedByManager: (manager: string, script?: string) =>
    `Started through ${manager}${script ? ` (script "${script}")` : ''} inside a container: SIGTERM goes to ${manager}, which may not pass it on to Node, or exit before Node has finished, and the shutdown is cut. ` +
    'Start Node itself as the container command (exec form: CMD ["node", "dist/main.js"]), or behind an init such as tini or `docker run --init`.',
  startedByShell: (shell: string) =>
    `Started by a shell (${shell}) inside a container: the shell does not pass SIGTERM on to Node, so the shutdown never starts and the process is killed. ` +
    'Use the exec form (CMD ["node", "dist/main.js"]) or `exec node dist/main.js` in the script.',
  terminusGrace: (ms: number) =>
    `@nestjs/terminus' gracefulShutdownTimeoutMs (${ms}) is set as well: it sleeps again in beforeApplicationShutdown, after this module's readiness delay and drain, and turns liveness down meanwhile. ` +
    'Remove it from TerminusModule.forRoot(); readinessDelayMs does its job.',
  terminusMajor: (terminus: string, core: string, coreMajor: string) =>
    `@nestjs/terminus ${terminus} is installed with @nestjs/core ${core}: their majors differ. ` +
    `${Number(coreMajor) < 12 ? "Terminus 12 is an ES module only package, which a CommonJS test runner (Jest with ts-jest, the Nest 11 template's) cannot load. " : 'Terminus 11 declares Nest 10 and 11 as its peers. '}` +
    `Install the matching major: npm install @nestjs/terminus@${coreMajor}.`,
  microservicesUnseen: (count: number) =>
    `${count} microservice server(s) run on a @nestjs/core without a registry of its microservice servers (added in 11.1.4): the drain cannot see them, so they are not stopped before the hooks and messages in flight may be lost. ` +
    'Upgrade @nestjs/core and @nestjs/microservices to 11.1.4 or later (or 12), or set intake: { microservices: false } to silence this.',
  checkFailedInShutdown: (details: string) => `Health check answered 503 during the shutdown, as readiness must: ${details}`,
  otherSignalListener: (signal: string, name: string, where?: string) =>
    `Another ${signal} listener is registered: ${name}${where ? `, added at ${where}` : ''}. It runs alongside the graceful shutdown and may race it (exiting, closing what the hooks still use). ` +
    'Remove it and move its work into an @OnShutdown() hook, or leave the signal out of the `signals` option.',
  readinessDelayEnded: (ms: number, by: string) =>
    by === 'quiet'
      ? `Readiness delay ended after ${ms} ms: a probe saw the instance down and traffic went quiet.`
      : by === 'bound'
        ? `Readiness delay ended after ${ms} ms, its bound (readinessDelayMs).`
        : `Readiness delay cut after ${ms} ms by the deadline.`,
  drainStarted: (inFlight: number, ms: number, server = 'HTTP') =>
    `Stopped accepting connections${onServer(server)}; ${inFlight} request(s) in flight, waiting up to ${ms} ms (drainTimeoutMs).`,
  drainCut: (requests: number, ms: number, server = 'HTTP', cut: Array<{ method: string; path: string; runningMs: number }> = []) =>
    `Drain timeout (${ms} ms) passed: cut ${requests} request(s) in flight${onServer(server)}.` +
    (cut.length > 0
      ? ` Cut: ${cut.map((request) => `${request.method} ${request.path} (ran ${request.runningMs} ms)`).join(', ')}${requests > cut.length ? `, and ${requests - cut.length} more` : ''}.`
      : ''),
  serverAfterDrain: (server: string) =>
    `${server} served the application for the first time after the drain had ended: closed now, its request was not drained. Hand it to GracefulLifecycleService.drainServer() at startup.`,
  drainBeganReason: (reason: string) => `the drain began (${reason}): end long requests and streams now`,
  drainServerInvalid: (value: unknown) =>
    `drainServer() takes a Node.js http, https or http2 server (what http.createServer() returns), got ${typeof value === 'object' && value !== null ? `an instance of ${value.constructor?.name ?? 'Object'}` : describe(value)}. For Fastify, pass fastify.server.`,
  drainSources: (sources: number, ms: number) => `Stopping ${sources} source(s) of work; waiting up to ${ms} ms (drainTimeoutMs) for the work they took.`,
  drainTimeoutReason: (ms: number) => `the drain timeout (drainTimeoutMs ${ms} ms) passed`,
  intakeStopped: (name: string, what: string, ms: number) => `${name} stopped in ${ms} ms: ${what}.`,
  intakeNotStopped: (name: string, running: number, unit: string, ms: number) =>
    `${name} could not be stopped in time: ${running} ${unit}(s) still running when the drain ended (drainTimeoutMs ${ms} ms). The hooks run now; raise drainTimeoutMs, or make that work end sooner.`,
  openHandles: (handles: Array<{ description: string; createdAt?: string }>, exiting: boolean) =>
    `${handles.length} handle(s) opened since startup are still open after the shutdown${exiting ? ' (the process exits anyway)' : ', and keep the process alive'}: ` +
    `${handles
      .slice(0, 20)
      .map((handle) => handle.description + (handle.createdAt ? ` (created at ${handle.createdAt})` : ''))
      .join('; ')}${handles.length > 20 ? `; and ${handles.length - 20} more` : ''}. Close each in an @OnShutdown() hook.`,
  workersStopped: (names: string[]) => `Terminated ${names.length} worker thread(s) the application left running: ${names.join(', ')}.`,
  childrenStopped: (names: string[]) => `Stopped ${names.length} child process(es) the application left running: ${names.join(', ')}.`,
  workLost: (count: number, unit: string) => `${count} ${unit}(s) taken were not delivered (their reply or ack was refused by the transport)`,
  intakeFailed: (name: string, error: string) => `Stopping ${name} failed: ${error}. The drain goes on without it.`,
  intakePlan: (names: string[]) => `Intake stopped at the drain: ${names.length > 0 ? names.join(', ') : 'none'}.`,
  onDrainNotAMethod: (target: string) => `@OnDrain() on ${target}: it decorates methods only; move it onto the method that stops your consumer.`,
  onDrainStatic: (target: string) => `@OnDrain() on ${target}: static methods are never called by the module; make it an instance method of a provider.`,
  invalidDrainOption: (target: string, option: string, value: unknown, expected: string) =>
    `@OnDrain() on ${target}: option "${option}" is ${describe(value)}; it must be ${expected}.`,
  onDrainNonStatic: (method: string) =>
    `@OnDrain() on ${method} is skipped: request-scoped and transient providers have no single instance to stop. Move it into a singleton provider.`,
  warmUpNotAMethod: (target: string) => `@WarmUp() on ${target}: it decorates methods only; move it onto the method that warms the application up.`,
  warmUpStatic: (target: string) =>
    `@WarmUp() on ${target}: static methods are never called by the module; make it an instance method of a provider or controller.`,
  invalidWarmUpOption: (target: string, option: string, value: unknown, expected: string) =>
    `@WarmUp() on ${target}: option "${option}" is ${describe(value)}; it must be ${expected}.`,
  warmUpNonStatic: (method: string) =>
    `@WarmUp() on ${method} is skipped: request-scoped and transient providers have no single instance to warm up. Move it into a singleton provider.`,
  warmUpFailed: (name: string) =>
    `Warm-up ${name} failed: the startup fails (readiness never goes up). Fix the warm-up, or catch the error inside it if the application can serve without it`,
  warmUpTimedOut: (name: string, ms: number) =>
    `Warm-up ${name} timed out after ${ms} ms (its signal was aborted): the startup fails (readiness never goes up). Raise its timeout (@WarmUp({ timeout })) or make it end sooner.`,
  warmUpTimeoutReason: (name: string, ms: number) => `${name} exceeded its warm-up timeout of ${ms} ms`,
  readinessHoldFailed: (name: string) =>
    `Readiness was held for "${name}", which failed; the hold is released and the error goes to the caller of holdReadiness()`,
  invalidHold: (name: unknown, work: unknown) =>
    `holdReadiness(name, work) was called with name ${describe(name)} and work ${typeof work}: name must be a non-empty string (it shows in the readiness probe's details), work a promise or a function returning one.`,
  invalidUnreadyReason: (reason: unknown) =>
    `markUnready(reason) was called with ${describe(reason)}: give a non-empty string saying why (it shows in the readiness probe's details).`,
  startupFailed: (where: string, message: string) =>
    `The startup failed in ${where}: ${message}. Rolling back what had started: the @OnShutdown() hooks, then Nest's destroy hooks (reason 'startup-failed', exit code 1).`,
  startupInterrupted: (signal: string, where: string, running: string[], waitMs?: number) =>
    `${signal} arrived during the startup (${where}${running.length > 0 ? `; running: ${running.join('; ')}` : ''}): the startup stops. ${
      waitMs === undefined
        ? "Nothing of Nest's lifecycle has begun: the @OnShutdown() hooks of the providers constructed so far run; exit code 1."
        : `The step under way has ${waitMs} ms to end; then what had started is rolled back, and a step left running makes the exit code 1.`
    }`,
  signalHeld: (signal: string, ms: number) =>
    `${signal} arrived inside NestFactory.create(), before the module's providers exist: it is held until they do (at most ${ms} ms), then the startup stops.`,
  signalDefaultAction: (signal: string, why: 'failed' | 'hung' | 'absent' | 'unhandled', ms: number) =>
    `${signal} arrived inside NestFactory.create(), ${
      why === 'failed'
        ? 'which failed before the module existed'
        : why === 'hung'
          ? `which did not create the module within ${ms} ms of it`
          : why === 'absent'
            ? 'which created no nestjs-graceful module'
            : "and the module's signals option leaves it out"
    }: the process ends as ${signal} ends it (Node's default action).`,
  startupInterruptedReason: (reason: string, where: string, running: string[]) =>
    `interrupted by ${reason} during ${where}${running.length > 0 ? ` (still running: ${running.join('; ')})` : ''}`,
  startupRolledBack: (rolledBack: string[], neverStarted: string[]) =>
    `Rolled back the failed startup: ${rolledBack.length > 0 ? `ran ${namesAtMost(rolledBack).join(', ')}` : 'no @OnShutdown() hook had anything to close'}; never started: ${
      neverStarted.length > 0 ? namesAtMost(neverStarted).join(', ') : 'nothing'
    }.`,
  startupAbandoned: (ms: number, running: string[]) =>
    `Stopped waiting for the startup after ${ms} ms; left running: ${running.join('; ')}. Rolling back without it.`,
  startupTimedOut: (ms: number, running: string[]) =>
    `The startup did not end within startupTimeoutMs (${ms} ms); still running: ${running.length > 0 ? running.join('; ') : 'nothing the module can name (code after NestFactory.create() that has not called listen() or init())'}.`,
  createStillRunning: () => 'NestFactory.create() (a module or an async provider factory has not resolved)',
  startupTimeoutReason: (ms: number, running: string[]) =>
    `the startup exceeded startupTimeoutMs (${ms} ms)${running.length > 0 ? `; still running: ${running.join('; ')}` : ''}`,
  startupAfterShutdown: (step: string) => `${step} was called after the shutdown began (a signal arrived during the startup): the application does not start.`,
  connectionEnded: (source: string) => `the connection of ${source} ended before it was ready`,
  connectionUnknown: (name: string, error: string) => `Readiness no longer waits for "${name}": the source could not tell whether it is connected (${error}).`,
  shutdownAbortsWarmUp: (reason: string) => `the shutdown started (${reason}) before the warm-up ended`,
  drained: (completed: number, idleClosed: number, ms: number, server = 'HTTP') =>
    `Drained${onServer(server)}: ${completed} request(s) completed, ${idleClosed} idle connection(s) closed in ${ms} ms.`,
  hookFailed: (hook: string) => `${hook} failed`,
  hookTimedOut: (hook: string, ms: number) => `${hook} timed out after ${ms} ms; its signal was aborted and the shutdown goes on.`,
  hookCutByDeadline: (hook: string) => `${hook} was still running when the shutdown deadline passed.`,
  deadlineExceeded: (ms: number, running: string[], exiting: boolean) =>
    `Shutdown deadline (shutdownTimeoutMs ${ms} ms) passed; still running: ${running.join(', ')}. ${exiting ? 'Exiting now with 124.' : 'Skipping the hooks not started yet.'}`,
  internalError: () => 'nestjs-graceful failed unexpectedly during the shutdown; the shutdown goes on. Please report this with the stack below',
  nestCloseFailed: () => "Nest's own shutdown (onModuleDestroy, beforeApplicationShutdown, onApplicationShutdown) threw",
  summary: (
    reason: string,
    ms: number,
    sources: { stopped: number; notStopped: number },
    ok: number,
    failed: number,
    timedOut: number,
    skipped: number,
    exitCode: number,
  ) =>
    `Shutdown (${reason}) ended in ${ms} ms: ${sources.stopped} source(s) of work stopped` +
    (sources.notStopped > 0 ? `, ${sources.notStopped} not stopped in time or failed` : '') +
    `; ${ok} hook(s) ok, ${failed} failed, ${timedOut} timed out, ${skipped} skipped; exit code ${exitCode}.`,
  hookTimeoutReason: (hook: string, ms: number) => `${hook} exceeded its timeout of ${ms} ms`,
  deadlineReason: (ms: number) => `the shutdown deadline (${ms} ms) passed`,
  finalReserveReason: (ms: number) => `the final hooks' reserve (finalTimeoutMs ${ms} ms) ran out`,
  fatalError: (kind: string, message: string) => `Fatal error (${kind}): ${message}. Starting the graceful shutdown (reason 'error', exit code 1).`,
  fatalErrorDuringShutdown: (kind: string, message: string) =>
    `Fatal error (${kind}) during the shutdown: ${message}. The shutdown goes on; the process exits with 1 when it ends.`,
  exitCalled: (code: number, caller: string | undefined) =>
    `process.exit(${code}) was called during the shutdown${caller ? ` from ${caller}` : ''}; the shutdown goes on and the process exits when it ends (with ${code} if that is the higher code). Return from the hook instead.`,
  watchdog: (ms: number) =>
    `nestjs-graceful: the shutdown deadline (shutdownTimeoutMs ${ms} ms) has passed and the event loop is blocked; still running: %RUNNING%. Exiting with 124.`,
  secondFatalError: () => 'Another fatal error during the shutdown: exiting now with 1.',
  reportFileFailed: (path: string) => `Could not write the shutdown report to reportFile "${path}"`,
};

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  return String(value);
}

/** ` on HTTP :3001` for a server other than the application's own. */
function onServer(server: string): string {
  return server === 'HTTP' ? '' : ` on ${server}`;
}
