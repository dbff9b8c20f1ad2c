import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appProcesses, type AppProcess } from '../support/app-process.js';
import { get } from '../support/http.js';

/**
 * The same fixtures as a CommonJS application on Nest 11, loading the
 * package with require() (test/nest11, prepared by `npm test`).
 */
const NEST11 = join(process.cwd(), 'test', 'nest11');
const fixture = (name: string) => join(NEST11, '.build', 'fixtures', name);
const apps = appProcesses();
const options = (o: object) => JSON.stringify(o);
const ALL_HOOKS = [
  'ApiController.stop',
  'ApiService.stop',
  'AuditService.close',
  'CacheService.disconnect',
  'CacheService.flush',
  'DbService.close',
  'FlushService.flush',
  'MetricsService.flush',
];
const starts = (app: AppProcess) => app.events.filter((e) => e.type === 'hook-start').map((e) => e.hook as string);
const endsBefore = (app: AppProcess, first: string, second: string) => {
  const end = app.timeline.indexOf(`hook-end:${first}`);
  const start = app.timeline.indexOf(second.startsWith('nest-') ? second : `hook-start:${second}`);
  expect(end).toBeGreaterThanOrEqual(0);
  expect(end).toBeLessThan(start);
};

describe('on Nest 11 (CommonJS)', () => {
  it('runs against @nestjs/core 11, as a CommonJS app', () => {
    expect(JSON.parse(readFileSync(join(NEST11, 'node_modules', '@nestjs', 'core', 'package.json'), 'utf8')).version).toMatch(/^11\./);
    expect(JSON.parse(readFileSync(join(NEST11, 'package.json'), 'utf8')).type).toBe('commonjs');
    expect(readFileSync(fixture('ordered.app.js'), 'utf8')).toContain('require("nestjs-graceful")');
  });

  it("stops dependents before their dependencies across modules, then Nest's hooks; exit 0", async () => {
    const app = apps.start(fixture('ordered.app.js'));
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(starts(app).sort()).toEqual(ALL_HOOKS);
    endsBefore(app, 'ApiController.stop', 'ApiService.stop');
    endsBefore(app, 'CacheService.disconnect', 'DbService.close');
    endsBefore(app, 'AuditService.close', 'DbService.close');
    endsBefore(app, 'FlushService.flush', 'nest-destroy:DbService');
    expect(app.events.filter((e) => e.type === 'nest-destroy')).toHaveLength(1);
  });

  it('aborts a hung hook at its timeout and goes on; exit 1', async () => {
    const app = apps.start(fixture('ordered.app.js'), { HANG: 'CacheService.flush', GRACEFUL_OPTIONS: options({ hookTimeoutMs: 300 }) });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.events.find((e) => e.type === 'hook-aborted')).toMatchObject({ hook: 'CacheService.flush' });
    endsBefore(app, 'CacheService.disconnect', 'DbService.close');
  });

  it('exits 124 at the deadline', async () => {
    const app = apps.start(fixture('ordered.app.js'), {
      HANG: 'DbService.close',
      DB_TIMEOUT: '60000',
      GRACEFUL_OPTIONS: options({ shutdownTimeoutMs: 800, hookTimeoutMs: 60000 }),
    });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 124, signal: null });
    expect(app.output).toContain('still running: DbService.close');
  });

  it('a second SIGINT during the shutdown exits at once with 130', async () => {
    const app = apps.start(fixture('ordered.app.js'), { HANG: 'DbService.close', DB_TIMEOUT: '60000', GRACEFUL_OPTIONS: options({ hookTimeoutMs: 60000 }) });
    await app.port();
    app.signal('SIGINT');
    await app.event('hook-start', { hook: 'DbService.close' });
    app.signal('SIGINT');
    expect(await app.exited).toEqual({ code: 130, signal: null });
  });

  it.each([
    ['two concurrent app.close()', { DOUBLE_CLOSE_AFTER_LISTEN: '1' }, null],
    ["SIGTERM and the app's own process.on(SIGTERM, () => app.close())", { USER_SIGTERM_CLOSE: '1' }, 'SIGTERM'],
  ] as const)("runs every hook and Nest's hooks once with %s", async (_name, env, signal) => {
    const app = apps.start(fixture('ordered.app.js'), env);
    await app.port();
    if (signal) app.signal(signal);
    expect((await app.exited).code).toBe(0);
    expect(starts(app).sort()).toEqual(ALL_HOOKS);
    expect(app.events.filter((e) => e.type === 'nest-destroy')).toHaveLength(1);
    expect(app.events.filter((e) => e.type === 'nest-app-shutdown')).toHaveLength(1);
  });

  it('a signal while a global module still initializes runs every hook once the bootstrap ends', async () => {
    const app = apps.start(fixture('ordered.app.js'), { WAIT_IN_GLOBAL_INIT: '1' });
    await app.event('init-waiting');
    app.signal('SIGTERM');
    await app.printed('Graceful shutdown started (SIGTERM)');
    app.send('go');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(starts(app).sort()).toEqual(ALL_HOOKS);
  });

  it('a hook calling process.exit() does not cut the shutdown short', async () => {
    const app = apps.start(fixture('ordered.app.js'), { EXIT_IN: 'CacheService.flush', EXIT_CODE: '0' });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(starts(app).sort()).toEqual(ALL_HOOKS);
    expect(app.timeline).toContain('nest-destroy:DbService');
  });

  it.each(['express', 'fastify'])('drains on %s: the request in flight finishes before the hooks, new connections are refused', async (platform) => {
    const app = apps.start(fixture('http.app.js'), { PLATFORM: platform, GRACEFUL_OPTIONS: options({ readinessDelayMs: 0, drainTimeoutMs: 60000 }) });
    const port = await app.port();
    const held = get(port, '/hold');
    await app.event('held');
    app.signal('SIGTERM');
    await app.printed('Stopped accepting connections; 1 request(s) in flight');
    await expect(get(port, '/ping')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    app.send('release');
    expect(await held).toMatchObject({ status: 200, body: 'held 1' });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline.indexOf('response-finished')).toBeLessThan(app.timeline.indexOf('hook-start:Resource.close'));
  });
});
