/**
 * Legacy Bull (@nestjs/bull) stops fetching at the drain and finishes its
 * active jobs before the hooks, on a real redis-server started here, with a
 * producer that keeps adding jobs through the shutdown and a second instance
 * that takes the backlog.
 */
import Bull from 'bull';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShutdownReport } from '../../lib/index.js';
import { appProcesses, type AppProcess } from '../support/app-process.js';
import { startRedis, type RedisServer } from '../support/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis?.stop());

const apps = appProcesses();

function start(options: object = {}): { app: AppProcess; reportFile: string } {
  const reportFile = join(mkdtempSync(join(tmpdir(), 'graceful-')), 'report.json');
  const app = apps.start('bull.app.js', { REDIS_PORT: String(redis.port), GRACEFUL_OPTIONS: JSON.stringify({ reportFile, ...options }) });
  return { app, reportFile };
}

/** Adds a job every `everyMs` until stopped; returns the numbers added. */
function produceJobs(queue: Bull.Queue, everyMs = 5): { stop(): Promise<number[]> } {
  const added: number[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      await queue.add({ n }, { jobId: `job-${n}`, removeOnComplete: true });
      added.push(n);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return added;
    },
  };
}

const doneBy = (app: AppProcess) => app.events.filter((e) => e.type === 'job-done').map((e) => e.n as number);

describe('legacy Bull (@nestjs/bull)', () => {
  it.each([
    { load: 'under load (a job every 5 ms, more than it can take)', everyMs: 5, before: 20, backlog: true },
    { load: 'mostly idle (a job every 100 ms: its loops wait in Redis for the next)', everyMs: 100, before: 5, backlog: false },
  ])(
    '$load the queue stops fetching and finishes its active jobs before the hooks: none fails on the closed pool, exit 0, and a fresh instance runs the backlog, each job exactly once',
    async ({ everyMs, before, backlog }) => {
      const queue = new Bull('legacy', { redis: { host: '127.0.0.1', port: redis.port } });
      await queue.empty();
      const { app, reportFile } = start();
      await app.event('listening');
      await app.printed(/Intake stopped at the drain: HTTP, Bull queue "legacy"\./);

      const jobs = produceJobs(queue, everyMs);
      await app.until(() => doneBy(app).length >= before, `${before} jobs done`);
      app.signal('SIGTERM');
      expect(await app.exited).toEqual({ code: 0, signal: null });
      const sent = await jobs.stop();

      // No job used the pool after its hook closed it, none failed.
      expect(app.events.filter((e) => e.type === 'pool-error' || e.type === 'job-failed')).toEqual([]);
      // The queue's row: stopped before the hook, every job it had taken finished.
      const r = JSON.parse(readFileSync(reportFile, 'utf8')) as ShutdownReport;
      const row = r.intake.find((source) => source.name === 'Bull queue "legacy"');
      expect(row).toMatchObject({ kind: 'queue', unit: 'job', outcome: 'ok', stillRunning: 0 });
      expect(r.exitCode).toBe(0);
      const lastJob = app.timeline.lastIndexOf('job-done');
      expect(app.timeline.indexOf('hook-start:Pool.end')).toBeGreaterThan(lastJob);

      // A fresh instance takes the backlog: every job added ran exactly once, over both.
      const fresh = start();
      await fresh.app.event('listening');
      await fresh.app.until(() => new Set([...doneBy(app), ...doneBy(fresh.app)]).size >= sent.length, `every one of ${sent.length} jobs done`);
      const all = [...doneBy(app), ...doneBy(fresh.app)].sort((a, b) => a - b);
      expect(all).toEqual(sent);
      // Under load there is always a backlog left for it.
      if (backlog) expect(doneBy(fresh.app).length).toBeGreaterThan(0);
      fresh.app.signal('SIGTERM');
      expect(await fresh.app.exited).toEqual({ code: 0, signal: null });
      expect(fresh.app.events.filter((e) => e.type === 'pool-error' || e.type === 'job-failed')).toEqual([]);

      await queue.close();
    },
  );

  it('turned off (intake.bull false), the queue is left to @nestjs/bull: no row, and the drain does not pause it', async () => {
    const queue = new Bull('legacy', { redis: { host: '127.0.0.1', port: redis.port } });
    await queue.empty();
    const { app, reportFile } = start({ intake: { bull: false } });
    await app.event('listening');
    await app.printed('Intake stopped at the drain: HTTP.');
    const jobs = produceJobs(queue);
    await app.until(() => doneBy(app).length >= 20, '20 jobs done');
    app.signal('SIGTERM');
    await app.exited;
    await jobs.stop();
    const r = JSON.parse(readFileSync(reportFile, 'utf8')) as ShutdownReport;
    expect(r.intake.some((source) => source.name.startsWith('Bull queue'))).toBe(false);
    expect(app.output).not.toMatch(/Bull queue "legacy"/);
    // Jobs taken after the hook ended the pool then fail, in most runs but not every one (an idle
    // moment at the signal has none in flight): counted by hand, not asserted here (see the note).
    await queue.obliterate({ force: true });
    await queue.close();
  });
});
