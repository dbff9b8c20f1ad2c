import { rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appProcesses, type AppProcess } from '../support/app-process.js';
import { get, probe } from '../support/http.js';
import { NEST_VERSIONS, takeReport } from '../support/nest-versions.js';

/**
 * Issue 16: readiness means ready (warm-ups, held work, markUnready,
 * isStarted), and the holes in the one outcome (a single SIGINT during
 * app.close(), a signal during the exit, a linger timer left by app.close()).
 */
const apps = appProcesses();
const options = (o: object) => JSON.stringify(o);

/** The states the process reported, in order. */
const states = (app: AppProcess) => app.events.filter((e) => e.type === 'state').map((e) => e.state);

describe('readiness means ready', () => {
  it('stays down (starting) while a @WarmUp runs, with the app serving and alive, and goes up once it ends', async () => {
    const app = apps.start('lifecycle.app.js', { WARM_UP: '1', DETAILS: '1', GRACEFUL_OPTIONS: options({ readinessDelayMs: 0 }) });
    const port = await app.port();
    await app.event('warm-up-start');
    expect(await probe(port, '/health/ready')).toEqual({
      status: 503,
      graceful: { status: 'down', state: 'starting', deadlineExceeded: false, waitingFor: ['Cache.fill'] },
    });
    expect((await probe(port, '/health/started')).status).toBe(503);
    expect((await probe(port, '/health/live')).status).toBe(200);
    expect((await get(port, '/ping')).body).toBe('pong');

    app.send('warm');
    await app.event('started');
    expect(await probe(port, '/health/ready')).toEqual({ status: 200, graceful: { status: 'up', state: 'ready', deadlineExceeded: false } });
    expect((await probe(port, '/health/started')).status).toBe(200);
    expect(app.timeline.filter((t) => ['warm-up-end', 'readiness-hold-end', 'started', 'state'].includes(t))).toEqual([
      'state', // starting
      'warm-up-end',
      'readiness-hold-end',
      'started',
      'state', // ready
    ]);
    expect(app.events.find((e) => e.type === 'readiness-hold-end')).toMatchObject({ name: 'Cache.fill', outcome: 'ok' });

    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(states(app)).toEqual(['starting', 'ready', 'draining', 'stopping', 'stopped']);
  });

  it('stays down while work handed to holdReadiness() at startup runs, and goes up once it ends', async () => {
    const app = apps.start('lifecycle.app.js', { HOLD: '1' });
    const port = await app.port();
    await app.event('hold-start', { name: 'migrations' });
    expect(await probe(port, '/health/ready')).toEqual({ status: 503, graceful: { status: 'down', state: 'starting' } });
    expect((await probe(port, '/health/started')).status).toBe(503);
    app.send('hold-done');
    await app.event('started');
    expect((await probe(port, '/health/ready')).status).toBe(200);
    expect(app.events.find((e) => e.type === 'readiness-hold-end' && e.name === 'migrations')).toMatchObject({ outcome: 'ok' });
    expect(app.timeline.indexOf('hold-end')).toBeLessThan(app.timeline.indexOf('started'));
  });

  it('markUnready() leaves the balancer with its reason in the probe, markReady() rejoins; held work later is unready too; isStarted() stays up', async () => {
    const app = apps.start('lifecycle.app.js', { DETAILS: '1' });
    const port = await app.port();
    await app.event('started');
    expect((await probe(port, '/health/ready')).status).toBe(200);

    app.send('unready database connection lost');
    await app.until(() => states(app).includes('unready'), 'unready');
    expect(await probe(port, '/health/ready')).toEqual({
      status: 503,
      graceful: { status: 'down', state: 'unready', unreadyReason: 'database connection lost', deadlineExceeded: false },
    });
    expect((await probe(port, '/health/started')).status).toBe(200);
    expect((await probe(port, '/health/live')).status).toBe(200);
    expect((await get(port, '/ping')).body).toBe('pong');

    app.send('ready');
    await app.until(() => states(app).filter((s) => s === 'ready').length === 2, 'ready again');
    expect((await probe(port, '/health/ready')).status).toBe(200);

    app.send('hold-later');
    await app.until(() => states(app).filter((s) => s === 'unready').length === 2, 'unready while held');
    expect(await probe(port, '/health/ready')).toEqual({
      status: 503,
      graceful: { status: 'down', state: 'unready', deadlineExceeded: false, waitingFor: ['reindex'] },
    });
    app.send('hold-done');
    await app.until(() => states(app).filter((s) => s === 'ready').length === 3, 'ready after the hold');
    expect((await probe(port, '/health/ready')).status).toBe(200);
    expect(states(app)).toEqual(['starting', 'ready', 'unready', 'ready', 'unready', 'ready']);
  });

  it('once the shutdown began, isStarted() stays up, and markUnready()/markReady() change nothing', async () => {
    const app = apps.start('lifecycle.app.js', {
      WAIT_STDIN: 'Resource.close',
      GRACEFUL_OPTIONS: options({ readinessDelayMs: 20000, readinessQuietMs: 500, shutdownTimeoutMs: 40000, drainTimeoutMs: 5000 }),
    });
    const port = await app.port();
    await app.event('started');
    expect((await probe(port, '/health/ready')).status).toBe(200);
    app.signal('SIGTERM');
    await app.event('state', { state: 'draining' });
    expect(await probe(port, '/health/started')).toEqual({ status: 200, graceful: { status: 'up', state: 'draining' } });
    expect(await probe(port, '/health/ready')).toEqual({ status: 503, graceful: { status: 'down', state: 'draining' } });
    await app.event('hook-start', { hook: 'Resource.close' });
    // One line: markReady() runs, then the hook goes on.
    app.send('ready');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(states(app)).toEqual(['starting', 'ready', 'draining', 'stopping', 'stopped']);
  });

  it('a @WarmUp that throws fails the startup: it is named, readiness never goes up, what started is rolled back and the process exits 1', async () => {
    const app = apps.start('lifecycle.app.js', { WARM_UP: '1', WARM_FAIL: '1' });
    const port = await app.port();
    await app.event('warm-up-start');
    expect((await probe(port, '/health/ready')).graceful).toEqual({ status: 'down', state: 'starting' });
    app.send('warm');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.events.find((e) => e.type === 'readiness-hold-end' && e.name === 'Cache.fill')).toMatchObject({ outcome: 'error', error: 'cache unreachable' });
    expect(app.output).toContain('Warm-up Cache.fill failed');
    expect(app.output).toContain('The startup failed in the warm-up Cache.fill: cache unreachable');
    expect(app.timeline).toContain('hook-end:Resource.close');
    expect(app.timeline).toContain('nest-destroy:Resource');
    expect(app.events.some((e) => e.type === 'started')).toBe(false);
    // The startup failed before any shutdown began: the rollback runs in `failed` (issue 16, item 7's edge starting -> failed -> stopped).
    expect(states(app)).toEqual(['starting', 'failed', 'stopped']);
  });

  it('a @WarmUp past its timeout gets its signal aborted, is named, and fails the startup', async () => {
    const app = apps.start('lifecycle.app.js', { WARM_UP: '1', WARM_TIMEOUT: '300' });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.events.find((e) => e.type === 'readiness-hold-end' && e.name === 'Cache.fill')).toMatchObject({ outcome: 'timeout' });
    expect(app.events.find((e) => e.type === 'warm-up-aborted')).toMatchObject({ why: 'Cache.fill exceeded its warm-up timeout of 300 ms' });
    expect(app.output).toContain('Warm-up Cache.fill timed out after 300 ms');
    expect(app.output).toContain('The startup failed in the warm-up Cache.fill');
    expect(app.timeline).toContain('hook-end:Resource.close');
    expect(app.events.some((e) => e.type === 'started')).toBe(false);
  });

  it('SIGTERM during a @WarmUp aborts its signal and shuts down; the app never reports started', async () => {
    const app = apps.start('lifecycle.app.js', { WARM_UP: '1' });
    await app.port();
    await app.event('warm-up-start');
    app.signal('SIGTERM');
    expect(await app.event('warm-up-aborted')).toMatchObject({ why: 'the shutdown started (SIGTERM) before the warm-up ended' });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.events.some((e) => e.type === 'started')).toBe(false);
    expect(states(app)).toEqual(['starting', 'draining', 'stopping', 'stopped']);
  });
});

describe.each(NEST_VERSIONS)('one sequence, one outcome (issue 16, item 4) on %s', (_nest, fixture) => {
  it('a single SIGINT during a shutdown started by app.close() joins it: the process exits when it ends, with its code, not 130', async () => {
    const app = apps.start(fixture('lifecycle.app.js'), { WAIT_STDIN: 'Resource.close' });
    await app.port();
    app.send('close');
    await app.event('hook-start', { hook: 'Resource.close' });
    app.signal('SIGINT');
    await app.printed('Received SIGINT while already shutting down (close)');
    app.send('go');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline).toContain('hook-end:Resource.close');
    expect(app.timeline).toContain('nest-destroy:Resource');
  });

  it('a second SIGINT during a shutdown started by app.close() exits 130 at once', async () => {
    const app = apps.start(fixture('lifecycle.app.js'), { WAIT_STDIN: 'Resource.close' });
    await app.port();
    app.send('close');
    await app.event('hook-start', { hook: 'Resource.close' });
    app.signal('SIGINT');
    await app.printed('Received SIGINT while already shutting down (close)');
    app.signal('SIGINT');
    expect(await app.exited).toEqual({ code: 130, signal: null });
    expect(app.timeline).not.toContain('hook-end:Resource.close');
  });

  it('a signal that arrives while the process exits changes nothing: the exit code the sequence decided stands', async () => {
    const file = join(tmpdir(), `graceful-exit-${process.pid}-${Date.now()}`);
    const app = apps.start(fixture('lifecycle.app.js'), { EXIT_WAITS_FOR: file });
    try {
      await app.port();
      app.signal('SIGTERM');
      // The process is inside process.exit(0), in its last 'exit' listener.
      expect(await app.event('exiting')).toMatchObject({ code: 0 });
      app.signal('SIGTERM');
      writeFileSync(file, '');
      expect(await app.exited).toEqual({ code: 0, signal: null });
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('app.close() with a request cut at the drain leaves no timer behind: the process ends by itself', async () => {
    // A keep-alive time far beyond the test's: a linger timer left armed would keep the process alive past it.
    const app = apps.start(fixture('lifecycle.app.js'), { KEEP_ALIVE_MS: '600000', GRACEFUL_OPTIONS: options({ drainTimeoutMs: 300 }) });
    const port = await app.port();
    const agent = new Agent({ keepAlive: true });
    const cut = get(port, '/hold', agent).catch((error: NodeJS.ErrnoException) => error.code);
    await app.event('held');
    app.send('close');
    const closed = await app.event('closed');
    expect(await cut).toBe('ECONNRESET');
    expect(app.output).toMatch(/cut 1 request\(s\) in flight/);
    expect(closed.resources).not.toContain('Timeout');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    agent.destroy();
  });
});

describe.each(NEST_VERSIONS)('a failed startup rolls back (issue 16, item 3) on %s', (_nest, fixture) => {
  it("when a provider throws in onModuleInit and main.ts catches the error, what started is stopped (its @OnShutdown hook, then Nest's hooks), the report says why, and the process exits 1", async () => {
    const reportFile = join(tmpdir(), `graceful-failed-start-${process.pid}-${Date.now()}.json`);
    const app = apps.start(fixture('failed-start.app.js'), { GRACEFUL_OPTIONS: options({ reportFile }) });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain('The startup failed in init(): B cannot connect');
    const order = app.timeline.filter((t) => ['a-open', 'hook-end:ServerA.close', 'nest-destroy:ServerA'].includes(t));
    expect(order).toEqual(['a-open', 'hook-end:ServerA.close', 'nest-destroy:ServerA']);
    expect(app.timeline).not.toContain('listening');
    const report = takeReport(reportFile);
    expect(report).toMatchObject({ reason: 'startup-failed', startupError: 'B cannot connect', exitCode: 1 });
    // What was rolled back, and what never started: A's hook ran; B's onModuleInit began (and threw), so nothing is left unstarted.
    expect(report.startup).toEqual({ failedAt: 'init()', error: 'B cannot connect', rolledBack: ['ServerA.close'], neverStarted: [] });
    expect(app.output).toContain('Rolled back the failed startup: ran ServerA.close; never started: nothing.');
  });

  it('when listen() fails (its port is taken), what started is rolled back and the process exits 1', async () => {
    const app = apps.start(fixture('failed-start.app.js'), { PORT_TAKEN: '1' });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toMatch(/The startup failed in listen\(\): .*EADDRINUSE/);
    expect(app.timeline.filter((t) => ['hook-end:ServerA.close', 'nest-destroy:ServerA'].includes(t))).toEqual([
      'hook-end:ServerA.close',
      'nest-destroy:ServerA',
    ]);
  });

  it('with signals: [], the rollback runs, the error reaches the caller afterwards, and nothing exits the process: it ends by itself', async () => {
    const app = apps.start(fixture('failed-start.app.js'), { NO_SIGNALS: '1' });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline.filter((t) => ['hook-end:ServerA.close', 'nest-destroy:ServerA', 'caught'].includes(t))).toEqual([
      'hook-end:ServerA.close',
      'nest-destroy:ServerA',
      'caught',
    ]);
    expect(app.events.find((e) => e.type === 'caught')).toMatchObject({ message: 'B cannot connect' });
  });

  it('when NestFactory.create() rejects after the module was built (abortOnError: false), what it constructed is rolled back, reported, and the process exits 1', async () => {
    const reportFile = join(tmpdir(), `graceful-create-fails-${process.pid}-${Date.now()}.json`);
    const app = apps.start(fixture('create-fails.app.js'), { GRACEFUL_OPTIONS: options({ reportFile }) });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain('The startup failed in NestFactory.create(): cannot connect (attempt 0)');
    expect(app.timeline.filter((t) => t.startsWith('hook-end:') || t === 'caught' || t === 'started')).toEqual(['hook-end:Pool.close#0']);
    const report = takeReport(reportFile);
    expect(report).toMatchObject({ reason: 'startup-failed', startupError: 'cannot connect (attempt 0)', exitCode: 1 });
    expect(report.startup).toMatchObject({ failedAt: 'NestFactory.create()', rolledBack: ['Pool.close'] });
  });

  it('with signals: [], a retry loop around a rejecting NestFactory.create(): each failed attempt is rolled back before its error reaches the loop, nothing of it is left, and the process ends by itself', async () => {
    const app = apps.start(fixture('create-fails.app.js'), { NO_SIGNALS: '1', FAILS: '2' });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline.filter((t) => t.startsWith('hook-end:') || ['caught', 'started', 'closed'].includes(t))).toEqual([
      'hook-end:Pool.close#0',
      'caught',
      'hook-end:Pool.close#1',
      'caught',
      'started',
      'hook-end:Pool.close#2',
      'closed',
    ]);
  });
});
