import { appProcesses } from '../support/app-process.js';
import { endsBefore, ORDERED_APP_HOOKS, startsOf } from '../support/ordered-app.js';

const apps = appProcesses();

describe('ordered shutdown of a real Nest process', () => {
  it("stops dependents before their dependencies across modules, then runs Nest's own hooks, and exits 0", async () => {
    const app = apps.start('ordered.app.js');
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });

    endsBefore(app, 'ApiController.stop', 'ApiService.stop');
    endsBefore(app, 'ApiService.stop', 'CacheService.flush');
    endsBefore(app, 'CacheService.flush', 'CacheService.disconnect'); // declaration order within one class
    endsBefore(app, 'CacheService.disconnect', 'DbService.close'); // DbModule is @Global: still last
    endsBefore(app, 'AuditService.close', 'DbService.close'); // through AuditRepository, which has no hook
    endsBefore(app, 'DbService.close', 'FlushService.flush'); // order 1 after order 0
    endsBefore(app, 'FlushService.flush', 'nest-destroy:DbService');
    endsBefore(app, 'nest-destroy:DbService', 'nest-app-shutdown:ApiService');
    expect(startsOf(app).sort()).toEqual(ORDERED_APP_HOOKS);
    expect(app.events.filter((e) => e.type === 'hook-start').every((e) => e.reason === 'SIGTERM')).toBe(true);
    expect(app.events.filter((e) => e.type === 'nest-destroy')).toHaveLength(1);
    expect(app.events.find((e) => e.type === 'nest-app-shutdown')?.signal).toBe('SIGTERM');
    expect(app.output).toContain('FlushService depends on DbService, but its @OnShutdown order (1) is higher');
    expect(app.output).toMatch(/8 hook\(s\) ok, 0 failed, 0 timed out, 0 skipped; exit code 0/);
  });

  it('runs hooks that do not depend on each other concurrently', async () => {
    const app = apps.start('ordered.app.js', { SLOW: 'AuditService.close=300,MetricsService.flush=300,ApiController.stop=300' });
    await app.port();
    app.signal('SIGTERM');
    expect((await app.exited).code).toBe(0);
    const firstEnd = app.timeline.findIndex((entry) => entry.startsWith('hook-end:'));
    const startedBeforeAnyEnded = app.timeline.slice(0, firstEnd).filter((entry) => entry.startsWith('hook-start:'));
    expect(startedBeforeAnyEnded.sort()).toEqual(['hook-start:ApiController.stop', 'hook-start:AuditService.close', 'hook-start:MetricsService.flush']);
  });

  it('aborts a hung hook at its timeout, names it, and stops the rest, what it depends on included; exit 1', async () => {
    const app = apps.start('ordered.app.js', { HANG: 'CacheService.flush', GRACEFUL_OPTIONS: JSON.stringify({ hookTimeoutMs: 500 }) });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    const aborted = app.events.find((e) => e.type === 'hook-aborted');
    expect(aborted).toMatchObject({ hook: 'CacheService.flush', why: 'CacheService.flush exceeded its timeout of 500 ms' });
    expect(app.output).toContain('CacheService.flush timed out after 500 ms');
    endsBefore(app, 'CacheService.disconnect', 'DbService.close');
    expect(app.timeline).toContain('hook-end:DbService.close');
    expect(app.timeline).toContain('nest-destroy:DbService');
    expect(app.output).toMatch(/7 hook\(s\) ok, 0 failed, 1 timed out, 0 skipped; exit code 1/);
  });

  it('logs a failing hook with its name and stack, and goes on; exit 1', async () => {
    const app = apps.start('ordered.app.js', { FAIL: 'ApiService.stop' });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toMatch(/ApiService\.stop failed[^\n]*\n[^]*Error: ApiService\.stop failed on purpose\n\s+at /);
    expect(startsOf(app)).toEqual(expect.arrayContaining(['CacheService.flush', 'DbService.close', 'FlushService.flush']));
    expect(app.output).toMatch(/7 hook\(s\) ok, 1 failed, 0 timed out, 0 skipped; exit code 1/);
  });

  it('exits with 124 at the shutdown deadline, naming the hook still running', async () => {
    const app = apps.start('ordered.app.js', { HANG: 'DbService.close', DB_TIMEOUT: '600000', GRACEFUL_OPTIONS: JSON.stringify({ shutdownTimeoutMs: 1000 }) });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 124, signal: null });
    expect(app.output).toContain('Shutdown deadline (shutdownTimeoutMs 1000 ms) passed; still running: DbService.close. Exiting now with 124.');
    expect(app.timeline).not.toContain('hook-start:FlushService.flush');
  });

  it('ignores a repeated SIGTERM with a log line and runs every hook once', async () => {
    const app = apps.start('ordered.app.js', { WAIT_STDIN: 'DbService.close', DB_TIMEOUT: '600000' });
    await app.port();
    app.signal('SIGTERM');
    await app.event('hook-start', { hook: 'DbService.close' });
    app.signal('SIGTERM');
    await app.printed('Received SIGTERM while already shutting down (SIGTERM)');
    app.send('go');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(startsOf(app)).toHaveLength(8);
  });

  it('exits at once with 130 on a second SIGINT', async () => {
    const app = apps.start('ordered.app.js', { HANG: 'DbService.close', DB_TIMEOUT: '600000' });
    await app.port();
    app.signal('SIGINT');
    await app.event('hook-start', { hook: 'DbService.close' });
    app.signal('SIGINT');
    expect(await app.exited).toEqual({ code: 130, signal: null });
    expect(app.output).toContain('Second SIGINT during the shutdown: exiting now with 130.');
  });

  it('lets a signal during bootstrap wait for the app to finish starting, then shuts down once', async () => {
    const app = apps.start('ordered.app.js', { WAIT_IN_INIT: '1' });
    await app.event('init-waiting');
    app.signal('SIGTERM');
    await app.printed('Graceful shutdown started (SIGTERM)');
    app.send('go');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const timeline = app.timeline;
    expect(timeline.indexOf('init-resumed')).toBeLessThan(timeline.indexOf('hook-start:ApiController.stop'));
    expect(startsOf(app)).toHaveLength(8);
    expect(app.events.filter((e) => e.type === 'nest-destroy')).toHaveLength(1);
  });

  it('runs the same sequence for app.close() in code, with reason "close", and leaves the exit to the app', async () => {
    const app = apps.start('ordered.app.js', { CLOSE_AFTER_LISTEN: '1' });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.events.filter((e) => e.type === 'hook-start').map((e) => e.reason)).toEqual(new Array(8).fill('close'));
    endsBefore(app, 'DbService.close', 'nest-destroy:DbService');
    expect(app.timeline.at(-1)).toBe('closed');
  });

  it('shutdown() does what SIGTERM does, exit included, with its reason; every call returns the same promise', async () => {
    const app = apps.start('ordered.app.js', { SHUTDOWN_AFTER_LISTEN: '1' });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.events.find((e) => e.type === 'shutdown-called')).toMatchObject({ samePromise: true, state: 'draining' });
    expect(app.events.filter((e) => e.type === 'hook-start').map((e) => e.reason)).toEqual(new Array(8).fill('maintenance'));
    expect(app.events.filter((e) => e.type === 'nest-destroy')).toHaveLength(1);
  });

  it('handles the signals without app.enableShutdownHooks()', async () => {
    const app = apps.start('ordered.app.js', { NO_SHUTDOWN_HOOKS: '1' });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(startsOf(app)).toHaveLength(8);
    expect(app.timeline).toContain('nest-destroy:DbService');
  });

  it('routes the other signals enableShutdownHooks() listens to through the same sequence', async () => {
    const app = apps.start('ordered.app.js');
    await app.port();
    app.signal('SIGHUP');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.events.filter((e) => e.type === 'hook-start').map((e) => e.reason)).toEqual(new Array(8).fill('SIGHUP'));
    expect(app.events.find((e) => e.type === 'nest-app-shutdown')?.signal).toBe('SIGHUP');
  });
});

describe('bad input stops the app at startup with a message that names what to change', () => {
  it.each([
    [{ hookTimeoutMs: -1 }, 'option "hookTimeoutMs" is -1; it must be a finite number of milliseconds above 0'],
    [{ shutdownTimeoutMs: 'soon' }, 'option "shutdownTimeoutMs" is "soon"'],
    [{ signals: ['SIGTERM', 'SIGNOPE'] }, 'option "signals" names "SIGNOPE"'],
    [{ drainTimeoutMs: null }, 'option "drainTimeoutMs" is null'],
    [{ hookTimeout: 5 }, 'option "hookTimeout" is 5; it must be one of the known options'],
  ])('%j', async (options, message) => {
    const app = apps.start('ordered.app.js', { GRACEFUL_OPTIONS: JSON.stringify(options) });
    expect((await app.exited).code).not.toBe(0);
    expect(app.output).toContain(message);
    expect(app.timeline).not.toContain('listening');
  });

  it('an @OnShutdown order that is not a finite number', async () => {
    const app = apps.start('ordered.app.js', { BAD_HOOK_ORDER: '1' });
    expect((await app.exited).code).not.toBe(0);
    expect(app.output).toContain('@OnShutdown() on MetricsService.flush: option "order" is NaN; it must be a finite number.');
  });

  it('a dependency cycle is broken in reverse registration order, with a warning naming the classes', async () => {
    const app = apps.start('cycle.app.js');
    await app.port();
    // Without strict, the plan's checks run just after the start: the warning follows it.
    await app.printed(
      'Dependency cycle between CatsService, DogsService: their shutdown hooks run in the reverse of registration order (DogsService -> CatsService)',
    );
    app.signal('SIGTERM');
    expect((await app.exited).code).toBe(0);
    expect(app.timeline.filter((e) => e.startsWith('hook-'))).toEqual([
      'hook-start:DogsService.close',
      'hook-end:DogsService.close',
      'hook-start:CatsService.close',
      'hook-end:CatsService.close',
    ]);
  });

  it('with strict, a dependency cycle stops the app from starting', async () => {
    const app = apps.start('cycle.app.js', { GRACEFUL_OPTIONS: JSON.stringify({ strict: true }) });
    expect((await app.exited).code).toBe(1);
    expect(app.output).toContain('GracefulModule (strict): Dependency cycle between CatsService, DogsService');
    expect(app.timeline).not.toContain('listening');
  });

  it('with strict, an order that contradicts a dependency stops the app from starting', async () => {
    const app = apps.start('ordered.app.js', { GRACEFUL_OPTIONS: JSON.stringify({ strict: true }) });
    expect((await app.exited).code).not.toBe(0);
    expect(app.output).toContain('GracefulModule (strict): FlushService depends on DbService');
  });
});
