import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { appProcesses } from '../support/app-process.js';
import { endsBefore, ORDERED_APP_HOOKS, startsOf } from '../support/ordered-app.js';
import { get } from '../support/http.js';

/**
 * The same fixtures as a CommonJS application on Nest 11, loading the
 * package with require() (test/nest11, prepared by `npm test`). The cases of
 * one-sequence.e2e.spec.ts run on Nest 11 as well.
 */
const NEST11 = join(process.cwd(), 'test', 'nest11');
const fixture = (name: string) => join(NEST11, '.build', 'fixtures', name);
const apps = appProcesses();
const options = (o: object) => JSON.stringify(o);
describe('on Nest 11 (CommonJS)', () => {
  it('runs against @nestjs/core 11, as a CommonJS app', () => {
    expect(JSON.parse(readFileSync(join(NEST11, 'node_modules', '@nestjs', 'core', 'package.json'), 'utf8')).version).toMatch(/^11\./);
    expect(JSON.parse(readFileSync(join(NEST11, 'package.json'), 'utf8')).type).toBe('commonjs');
    expect(readFileSync(fixture('ordered.app.js'), 'utf8')).toContain('require("nestjs-graceful")');
  });

  it('resolves the package to its CommonJS build through require(), the root and /testing alike', () => {
    const resolve = createRequire(join(NEST11, 'package.json')).resolve;
    const build = join(NEST11, 'node_modules', 'nestjs-graceful', 'dist', 'cjs');
    expect(resolve('nestjs-graceful')).toBe(join(build, 'index.js'));
    expect(resolve('nestjs-graceful/testing')).toBe(join(build, 'testing', 'index.js'));
    expect(JSON.parse(readFileSync(join(build, 'package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  });

  it("runs where require() cannot load an ES module (as in Jest's CommonJS runtime): no ES module is loaded; exit 0", async () => {
    const app = apps.start(fixture('ordered.app.js'), {}, { command: process.execPath, args: (script) => ['--no-experimental-require-module', script] });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(startsOf(app).sort()).toEqual(ORDERED_APP_HOOKS);
  });

  it("stops dependents before their dependencies across modules, then Nest's hooks; exit 0", async () => {
    const app = apps.start(fixture('ordered.app.js'));
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(startsOf(app).sort()).toEqual(ORDERED_APP_HOOKS);
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

  it('GracefulTerminusLogger with terminus 11: readiness down during the shutdown is no error, a failing check before it is', async () => {
    const app = apps.start(fixture('http.app.js'), {
      PLATFORM: 'express',
      TERMINUS_LOGGER: 'graceful',
      GRACEFUL_OPTIONS: options({ platform: 'none', readinessDelayMs: 60000, readinessQuietMs: 300 }),
    });
    const port = await app.port();
    expect((await get(port, '/health/broken')).status).toBe(503);
    await app.printed('Health Check has failed! {"db":{"status":"down"}}');
    app.signal('SIGTERM');
    await app.printed('Readiness reports down');
    expect((await get(port, '/health/ready')).status).toBe(503);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.output).toContain('a probe saw the instance down');
    expect(app.output).not.toContain('Health Check has failed! {"graceful"');
  });

  it('the drain ends an SSE stream cleanly and runs @OnDrain() before the hooks; exit 0', async () => {
    const app = apps.start(fixture('http.app.js'));
    const port = await app.port();
    const ended = new Promise<string>((resolve) => {
      request({ host: '127.0.0.1', port, path: '/sse' }, (response) => {
        response.resume();
        response.once('end', () => resolve('end'));
        response.once('error', () => resolve('error'));
      })
        .once('error', () => resolve('error'))
        .end();
    });
    await app.event('sse-open');
    app.signal('SIGTERM');
    expect(await ended).toBe('end');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline.indexOf('inbox-stopped')).toBeGreaterThanOrEqual(0);
    expect(app.timeline.indexOf('inbox-stopped')).toBeLessThan(app.timeline.indexOf('hook-start:Resource.close'));
    expect(app.output).toMatch(/SSE streams stopped in \d+ ms: 1 stream\(s\) ended/);
  });
});
