import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { appProcesses } from '../support/app-process.js';
import { NEST_VERSIONS } from '../support/nest-versions.js';
import { ORDERED_APP_HOOKS, startsOf } from '../support/ordered-app.js';

/**
 * Regression tests for the defects of issue 10: one sequence, run once,
 * deciding its outcome once, whatever arrives and however hooks misbehave.
 */
const apps = appProcesses();
const options = (o: object) => JSON.stringify(o);
const count = (text: string, part: string) => text.split(part).length - 1;

/** The same fixture on Nest 12 (ESM) and as the CommonJS app on Nest 11 (test/nest11). */
describe.each(NEST_VERSIONS.map(([nest, fixture]) => [nest, fixture('ordered.app.js')] as const))('one shutdown sequence on %s', (_nest, ordered) => {
  it("logs the stop plan and the intake at debug level with Nest's default logger (no levels configured), and not with levels that leave debug out", async () => {
    const plain = apps.start(ordered, { NEST_LOG_LEVELS: 'default' });
    await plain.port();
    expect(plain.output).toMatch(/DEBUG \[GracefulShutdown\] Stop plan: \d+ hook\(s\)/);
    expect(plain.output).toMatch(/DEBUG \[GracefulShutdown\] Intake stopped at the drain: HTTP/);
    const leveled = apps.start(ordered);
    await leveled.port();
    expect(leveled.output).toContain('LOG [NestApplication] Nest application successfully started');
    expect(leveled.output).not.toContain('Stop plan:');
  });

  it('takes the plan after the bootstrap: a signal while a global module still initializes runs every hook (defect 1)', async () => {
    const app = apps.start(ordered, { WAIT_IN_GLOBAL_INIT: '1' });
    await app.event('init-waiting');
    app.signal('SIGTERM');
    await app.printed('Graceful shutdown started (SIGTERM)');
    app.send('go');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(startsOf(app).sort()).toEqual(ORDERED_APP_HOOKS);
    expect(app.output).toMatch(/8 hook\(s\) ok, 0 failed, 0 timed out, 0 skipped; exit code 0/);
  });

  // The main stages end at about 2 s, 1 s before the point kept back for the final hooks (3 s); the final hook then
  // runs across that point, to about 4 s, inside its reserve (3 s) and its own timeout (2.9 s). Every bound has 1 s to spare.
  it('final hooks that run past the main budget but inside their reserve end a clean run with 0, and the report is published once (defect 2)', async () => {
    const reportFile = join(tmpdir(), `graceful-report-${process.pid}-${Date.now()}.json`);
    const app = apps.start(ordered, {
      WITH_FINAL: '1',
      DB_TIMEOUT: '5000',
      AUDIT_TIMEOUT: '2900',
      SLOW: 'DbService.close=2000,AuditLog.flush=2000',
      GRACEFUL_OPTIONS: options({ shutdownTimeoutMs: 6000, finalTimeoutMs: 3000, reportFile }),
    });
    await app.port();
    app.signal('SIGINT');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    rmSync(reportFile, { force: true });
    expect(report).toMatchObject({ exitCode: 0, deadlineExceeded: false });
    expect(report.hooks.find((h: { name: string }) => h.name === 'AuditLog.flush')).toMatchObject({ outcome: 'ok', final: true });
    expect(count(app.output, 'Shutdown timeline (SIGINT)')).toBe(1);
    expect(count(app.output, 'Shutdown (SIGINT) ended')).toBe(1);
  });

  // Nest 12 guards its own close(); on Nest 11 these ran every hook twice.
  it.each([
    ['two concurrent app.close()', { DOUBLE_CLOSE_AFTER_LISTEN: '1' }, null],
    ["SIGTERM and the app's own process.on(SIGTERM, () => app.close())", { USER_SIGTERM_CLOSE: '1' }, 'SIGTERM'],
  ] as const)("runs every hook and Nest's hooks once with %s (defect 3)", async (_name, env, signal) => {
    const app = apps.start(ordered, env);
    await app.port();
    if (signal) app.signal(signal);
    expect((await app.exited).code).toBe(0);
    expect(startsOf(app).sort()).toEqual(ORDERED_APP_HOOKS);
    expect(app.events.filter((e) => e.type === 'nest-destroy')).toHaveLength(1);
    expect(app.events.filter((e) => e.type === 'nest-app-shutdown')).toHaveLength(1);
  });

  it('a fatal error during app.close() ends the process with 1 once the shutdown ends (defect 5)', async () => {
    const app = apps.start(ordered, { CLOSE_AFTER_LISTEN: '1', CRASH_IN: 'ApiService.stop', GRACEFUL_OPTIONS: options({ hookTimeoutMs: 300 }) });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain('Fatal error (uncaughtException) during the shutdown: uncaught in ApiService.stop');
    expect(app.timeline).toContain('hook-end:DbService.close');
    expect(app.timeline).toContain('nest-destroy:DbService');
  });

  it('a hook that blocks the event loop past the deadline: the watchdog names it and exits 124 (defect 7)', async () => {
    const app = apps.start(ordered, {
      BLOCK_IN: 'ApiService.stop',
      BLOCK_MS: '60000',
      GRACEFUL_OPTIONS: options({ hookTimeoutMs: 1000, shutdownTimeoutMs: 2000, readinessDelayMs: 0, drainTimeoutMs: 100 }),
    });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 124, signal: null });
    expect(app.stderr).toContain(
      'the shutdown deadline (shutdownTimeoutMs 2000 ms) has passed and the event loop is blocked; still running: ApiService.stop. Exiting with 124.',
    );
  });

  it('a hook that blocked the event loop past its timeout is reported as timed out, not ok (defect 7)', async () => {
    const app = apps.start(ordered, { BLOCK_IN: 'ApiService.stop', BLOCK_MS: '700', GRACEFUL_OPTIONS: options({ hookTimeoutMs: 300 }) });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain('ApiService.stop timed out after 300 ms');
    expect(app.output).toMatch(/7 hook\(s\) ok, 0 failed, 1 timed out, 0 skipped; exit code 1/);
  });

  it.each([
    [0, 0],
    [3, 3],
  ])('a hook calling process.exit(%i) does not cut the shutdown short; exit %i (defect 9)', async (called, expected) => {
    const app = apps.start(ordered, { EXIT_IN: 'CacheService.flush', EXIT_CODE: String(called) });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: expected, signal: null });
    expect(app.output).toContain(`process.exit(${called}) was called during the shutdown from`);
    expect(startsOf(app).sort()).toEqual(ORDERED_APP_HOOKS);
    expect(app.timeline.indexOf('hook-end:CacheService.flush')).toBeLessThan(app.timeline.indexOf('hook-start:DbService.close'));
    expect(app.timeline).toContain('nest-destroy:DbService');
    expect(app.output).toContain('Shutdown timeline (SIGTERM)');
  });
});

describe('two copies of the package in one process (defect 6)', () => {
  const root = join(process.cwd(), '.build', 'copies', 'second', 'node_modules', 'nestjs-graceful');
  beforeAll(() => {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    cpSync(join(process.cwd(), 'dist'), join(root, 'dist'), { recursive: true });
    writeFileSync(join(root, 'package.json'), readFileSync(join(process.cwd(), 'package.json')));
  });

  it('runs the hooks of an application built with the second copy', async () => {
    const app = apps.start('two-copies.app.js', { SECOND_COPY: pathToFileURL(join(root, 'dist', 'index.js')).href });
    expect(await app.event('copies')).toMatchObject({ distinct: true });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline).toContain('hook-end:Store.close');
  });

  it("the ESM build and the CommonJS build in one process share one shutdown: the application's hooks run once", async () => {
    const app = apps.start('two-copies.app.js', { SECOND_REQUIRE: 'nestjs-graceful' });
    expect(await app.event('copies')).toMatchObject({ distinct: true });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline.filter((step) => step === 'hook-end:Store.close')).toHaveLength(1);
    expect(app.timeline.filter((step) => step === 'hook-start:Store.close')).toHaveLength(1);
  });
});
