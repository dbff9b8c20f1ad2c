import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appProcesses } from '../support/app-process.js';

const apps = appProcesses();

describe('seeing the shutdown', () => {
  it('logs the stop plan at startup with logPlan: true', async () => {
    const app = apps.start('ordered.app.js', { GRACEFUL_OPTIONS: JSON.stringify({ logPlan: true }) });
    await app.port();
    expect(app.output).toContain('Stop plan: 8 hook(s) in 2 phase(s)');
    expect(app.output).toMatch(/wave 1 +AuditService\.close +timeout 2000 ms\n +MetricsService\.flush +timeout 2000 ms\n +ApiController\.stop/);
    expect(app.output).toMatch(
      /wave 3 +CacheService\.flush +timeout 2000 ms +after ApiService\n +CacheService\.disconnect +timeout 2000 ms +after CacheService\.flush/,
    );
    expect(app.output).toMatch(/wave 4 +DbService\.close +timeout 2000 ms +after AuditService, CacheService/);
    app.signal('SIGTERM');
    expect((await app.exited).code).toBe(0);
  });

  it('logs the timeline after the shutdown and writes the report to reportFile', async () => {
    const reportFile = join(mkdtempSync(join(tmpdir(), 'graceful-')), 'report.json');
    const app = apps.start('ordered.app.js', { FAIL: 'ApiService.stop', GRACEFUL_OPTIONS: JSON.stringify({ reportFile }) });
    await app.port();
    app.signal('SIGTERM');
    expect((await app.exited).code).toBe(1);
    expect(app.output).toMatch(/Shutdown timeline \(SIGTERM\): \d+ ms, exit code 1/);
    expect(app.output).toMatch(/ApiService\.stop +\|[ █]+\| +\d+ - +\d+ ms {2}error: ApiService\.stop failed on purpose/);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report).toMatchObject({ reason: 'SIGTERM', exitCode: 1, deadlineExceeded: false });
    expect(report.stages.map((s: { name: string }) => s.name)).toEqual(['drain', 'hooks', "Nest's hooks"]);
    expect(report.hooks).toContainEqual(expect.objectContaining({ name: 'ApiService.stop', outcome: 'error', error: 'ApiService.stop failed on purpose' }));
  });
});

describe('fatal errors', () => {
  it('an uncaught exception takes the graceful path with reason "error" and exit code 1', async () => {
    const app = apps.start('ordered.app.js', { CRASH_AFTER_LISTEN: '1' });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain('Fatal error (uncaughtException): boom after listen. Starting the graceful shutdown');
    expect(app.events.filter((e) => e.type === 'hook-start').map((e) => e.reason)).toEqual(new Array(8).fill('error'));
    expect(app.timeline).toContain('nest-destroy:DbService');
  });

  it('a second fatal error during that shutdown exits at once', async () => {
    const app = apps.start('ordered.app.js', { CRASH_AFTER_LISTEN: '1', CRASH_IN: 'ApiController.stop', DB_TIMEOUT: '600000' });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain('Another fatal error during the shutdown: exiting now with 1.');
    expect(app.timeline).not.toContain('hook-start:DbService.close');
  });
});

describe('the final phase', () => {
  it("runs final hooks after everything else, Nest's hooks included", async () => {
    const app = apps.start('ordered.app.js', { WITH_FINAL: '1' });
    await app.port();
    app.signal('SIGTERM');
    expect((await app.exited).code).toBe(0);
    const timeline = app.timeline;
    expect(timeline.indexOf('nest-app-shutdown:ApiService')).toBeLessThan(timeline.indexOf('hook-start:AuditLog.flush'));
    expect(timeline.filter((e) => e.startsWith('hook-start:')).at(-1)).toBe('hook-start:AuditLog.flush');
  });

  it('still runs them, within finalTimeoutMs, when the deadline has passed; exit 124', async () => {
    const app = apps.start('ordered.app.js', {
      WITH_FINAL: '1',
      HANG: 'DbService.close',
      DB_TIMEOUT: '600000',
      GRACEFUL_OPTIONS: JSON.stringify({ shutdownTimeoutMs: 1500, finalTimeoutMs: 500 }),
    });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 124, signal: null });
    const timeline = app.timeline;
    expect(timeline.indexOf('hook-aborted:DbService.close')).toBeLessThan(timeline.indexOf('hook-start:AuditLog.flush'));
    expect(timeline).toContain('hook-end:AuditLog.flush');
    expect(timeline).not.toContain('nest-destroy:DbService');
  });
});
