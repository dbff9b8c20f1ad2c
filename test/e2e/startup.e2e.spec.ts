import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appProcesses } from '../support/app-process.js';
import { NEST_VERSIONS, takeReport } from '../support/nest-versions.js';

/**
 * Issue 16, items 2 and 4: a signal at any moment of the startup goes through
 * the one sequence (inside NestFactory.create(), during a hung onModuleInit),
 * and startupTimeoutMs names a hung provider and rolls the startup back.
 */
const apps = appProcesses();
const options = (o: object) => JSON.stringify(o);

const reportPath = (name: string) => join(tmpdir(), `graceful-${name}-${process.pid}-${Date.now()}.json`);

describe.each(NEST_VERSIONS)('signals during the startup (issue 16, item 4) on %s', (_nest, fixture) => {
  it('a SIGTERM inside NestFactory.create() (an async factory still connecting) goes through the sequence: logged, reported, exit 1, not killed by the signal', async () => {
    const reportFile = reportPath('create');
    const app = apps.start(fixture('hung-start.app.js'), { HANG: 'create', GRACEFUL_OPTIONS: options({ reportFile }) });
    await app.event('connecting', { what: 'CONNECTION factory' });
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain('SIGTERM arrived during the startup (NestFactory.create())');
    expect(app.timeline).not.toContain('listening');
    expect(app.timeline).not.toContain('a-open');
    const report = takeReport(reportFile);
    expect(report).toMatchObject({ reason: 'SIGTERM', exitCode: 1 });
    expect(report.startupError).toContain('interrupted by SIGTERM during NestFactory.create()');
    // Nothing of the lifecycle began: the app's hooks and its warm-up never started (the module's own providers are not listed);
    // the hook of A, which Nest had constructed, ran all the same (its constructor may have opened what it closes).
    const startup = report.startup as { failedAt: string; rolledBack: string[]; neverStarted: string[] };
    expect(startup.failedAt).toBe('NestFactory.create()');
    expect(startup.rolledBack).toEqual(['ServerA.close']);
    expect(app.timeline).toContain('hook-end:ServerA.close');
    expect(startup.neverStarted).toEqual(expect.arrayContaining(['Warmer.onApplicationBootstrap', 'Warmer.warm (warm-up)']));
    expect(startup.neverStarted.filter((name) => /^(Shutdown|Graceful)/.test(name))).toEqual([]);
  });

  it("a SIGTERM during a hung onModuleInit stops waiting for it, runs A's @OnShutdown hook then Nest's destroy hooks, names the hung provider, and exits 1", async () => {
    const reportFile = reportPath('init');
    const app = apps.start(fixture('hung-start.app.js'), { HANG: 'init', GRACEFUL_OPTIONS: options({ reportFile }) });
    await app.event('connecting', { what: 'DatabaseService.onModuleInit' });
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toMatch(/SIGTERM arrived during the startup \(the startup; running: DatabaseService\.onModuleInit, running [\d.]+ s\)/);
    expect(app.output).toMatch(/Stopped waiting for the startup after \d+ ms; left running: DatabaseService\.onModuleInit/);
    const order = app.timeline.filter((t) => ['a-open', 'hook-start:ServerA.close', 'hook-end:ServerA.close', 'nest-destroy:ServerA'].includes(t));
    expect(order).toEqual(['a-open', 'hook-start:ServerA.close', 'hook-end:ServerA.close', 'nest-destroy:ServerA']);
    expect(app.timeline).not.toContain('listening');
    const report = takeReport(reportFile);
    expect(report).toMatchObject({ reason: 'SIGTERM', exitCode: 1, deadlineExceeded: false });
    expect(report.startupError).toContain('DatabaseService.onModuleInit');
    // A's hook rolled back what had started; the bootstrap hook and the warm-up after the hung step never began.
    expect(report.startup).toEqual({
      failedAt: 'the startup',
      error: report.startupError,
      rolledBack: ['ServerA.close'],
      neverStarted: ['Warmer.onApplicationBootstrap', 'Warmer.warm (warm-up)'],
    });
    expect(app.timeline).not.toContain('bootstrap');
    expect(app.timeline).not.toContain('warm-up');
  });

  it('a factory that never resolves inside NestFactory.create() is named at startupTimeoutMs and rolled back, exit 1', async () => {
    const reportFile = reportPath('create-timeout');
    const app = apps.start(fixture('hung-start.app.js'), { HANG: 'create', GRACEFUL_OPTIONS: options({ reportFile, startupTimeoutMs: 1500 }) });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain(
      'The startup did not end within startupTimeoutMs (1500 ms); still running: NestFactory.create() (a module or an async provider factory has not resolved)',
    );
    expect(app.timeline).toContain('connecting');
    expect(app.timeline).not.toContain('listening');
    const report = takeReport(reportFile);
    expect(report).toMatchObject({ reason: 'startup-failed', exitCode: 1 });
    expect(report.startup).toMatchObject({ failedAt: 'NestFactory.create()', rolledBack: ['ServerA.close'] });
  });

  it('a hung onModuleInit is named at startupTimeoutMs and the startup is rolled back (A closed), exit 1', async () => {
    const reportFile = reportPath('timeout');
    const app = apps.start(fixture('hung-start.app.js'), { HANG: 'init', GRACEFUL_OPTIONS: options({ reportFile, startupTimeoutMs: 1500 }) });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toMatch(/The startup did not end within startupTimeoutMs \(1500 ms\); still running: DatabaseService\.onModuleInit, running [\d.]+ s/);
    const order = app.timeline.filter((t) => ['a-open', 'connecting', 'hook-end:ServerA.close', 'nest-destroy:ServerA'].includes(t));
    expect(order).toEqual(['a-open', 'connecting', 'hook-end:ServerA.close', 'nest-destroy:ServerA']);
    expect(app.timeline).not.toContain('listening');
    const report = takeReport(reportFile);
    expect(report).toMatchObject({ reason: 'startup-failed', exitCode: 1 });
    expect(report.startupError).toContain('startupTimeoutMs (1500 ms)');
    expect(report.startupError).toContain('DatabaseService.onModuleInit');
    expect(report.startup).toMatchObject({
      failedAt: 'the startup',
      rolledBack: ['ServerA.close'],
      neverStarted: ['Warmer.onApplicationBootstrap', 'Warmer.warm (warm-up)'],
    });
    expect(app.output).toContain('Rolled back the failed startup: ran ServerA.close; never started: Warmer.onApplicationBootstrap, Warmer.warm (warm-up).');
  });
});

describe.each(NEST_VERSIONS)('a signal before the module exists, in the first instants of NestFactory.create() (issue 16, item 4) on %s', (_nest, fixture) => {
  const held = 'SIGTERM arrived inside NestFactory.create(), before the module';

  it.each([
    ['while Nest still scans the modules (an async dynamic module imported before GracefulModule)', 'scan'],
    ["while an async factory that forRootAsync()'s options need is connecting", 'options'],
  ])('%s: held, then goes through the sequence once it exists: logged, reported, exit 1, not killed by the signal', async (_what, mode) => {
    const reportFile = reportPath(`early-${mode}`);
    const app = apps.start(fixture('early-signal.app.js'), { EARLY: mode, GRACEFUL_OPTIONS: options({ reportFile }) });
    await app.event('inside-create');
    app.signal('SIGTERM');
    await app.printed(held);
    app.send('go');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain('SIGTERM arrived during the startup (NestFactory.create())');
    expect(app.timeline).not.toContain('listening');
    const report = takeReport(reportFile);
    expect(report).toMatchObject({ reason: 'SIGTERM', exitCode: 1 });
    expect(report.startupError).toContain('interrupted by SIGTERM during NestFactory.create()');
  });

  it('two SIGINTs (Ctrl+C twice) before the module exists: both held, handed over in order; the second exits 130', async () => {
    const app = apps.start(fixture('early-signal.app.js'), { EARLY: 'scan' });
    await app.event('inside-create');
    const heldInterrupts = () => app.output.split('SIGINT arrived inside NestFactory.create(), before the module').length - 1;
    app.signal('SIGINT');
    await app.until(() => heldInterrupts() === 1, 'the first SIGINT held');
    app.signal('SIGINT');
    await app.until(() => heldInterrupts() === 2, 'the second SIGINT held');
    app.send('go');
    expect(await app.exited).toEqual({ code: 130, signal: null });
    expect(app.output).toContain('SIGINT arrived during the startup (NestFactory.create())');
  });

  it("create() fails after the signal, before the module exists: the caller gets the error, then the signal takes Node's default action, named", async () => {
    const app = apps.start(fixture('early-signal.app.js'), { EARLY: 'fail' });
    await app.event('inside-create');
    app.signal('SIGTERM');
    await app.printed(held);
    app.send('go');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(app.events.find((e) => e.type === 'caught')).toMatchObject({ message: 'config server unreachable' });
    expect(app.output).toContain('SIGTERM arrived inside NestFactory.create(), which failed before the module existed: the process ends as SIGTERM ends it');
  });

  it("create() hangs before the module exists: the signal is not held past the bound, and takes Node's default action, named", async () => {
    const app = apps.start(fixture('early-signal.app.js'), { EARLY: 'hang' });
    await app.event('inside-create');
    app.signal('SIGTERM');
    await app.printed(held);
    app.send('go');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(app.output).toMatch(
      /SIGTERM arrived inside NestFactory\.create\(\), which did not create the module within \d+ ms of it: the process ends as SIGTERM ends it/,
    );
  });

  it("a process that imports the module and never calls NestFactory.create() keeps Node's default: killed by SIGTERM, nothing swallowed", async () => {
    const app = apps.start(fixture('early-signal.app.js'), { EARLY: 'never' });
    await app.event('imported', { module: 'AppModule' });
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(app.output).not.toContain('SIGTERM arrived');
  });
});

describe('the startup timeline (issue 16, item 2)', () => {
  it("at debug level, lists each provider's onModuleInit, listen() and init() with their durations once the app has started", async () => {
    const app = apps.start('hung-start.app.js', { DEBUG_LOG: '1' });
    await app.event('listening');
    await app.printed('Startup timeline:');
    await app.printed('listen()');
    expect(app.output).toMatch(/ServerA\.onModuleInit +\|[ █]+\| +\d+ - +\d+ ms {2}\d+ ms/);
    expect(app.output).toMatch(/DatabaseService\.onModuleInit +\|/);
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });
});
