/**
 * Nothing left behind: what the application opened and did not close is
 * named in the report and the log, child processes it started are stopped
 * after Nest's hooks and do not outlive it, and the testing assertion fails
 * on a leak and passes without one.
 */
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GracefulModule, OnShutdown, type ShutdownReport } from '../../lib/index.js';
import { assertNoOpenHandles, runShutdown } from '../../lib/testing/index.js';
import { appProcesses } from '../support/app-process.js';

const apps = appProcesses();

function start(env: Record<string, string>) {
  const reportFile = join(mkdtempSync(join(tmpdir(), 'graceful-')), 'report.json');
  const app = apps.start('leak.app.js', { GRACEFUL_OPTIONS: JSON.stringify({ reportFile, traceHandles: true }), ...env });
  return { app, report: () => JSON.parse(readFileSync(reportFile, 'utf8')) as ShutdownReport };
}

/** Whether a process with this pid still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('nothing left behind at the exit', () => {
  it('a provider that closes nothing: its server, socket and timer are named with where they were created, its child process is stopped and gone, its worker thread terminated and named', async () => {
    const { app, report } = start({ LEAK: '1' });
    const opened = await app.event('opened');
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const { openHandles = [], children = [], workers = [] } = report();
    const types = openHandles.map((handle) => handle.type);
    expect(types).toEqual(expect.arrayContaining(['server', 'socket', 'timer']));
    expect(openHandles.find((handle) => handle.type === 'server')!.description).toContain(`:${String(opened.serverPort)}`);
    for (const handle of openHandles) expect(handle.createdAt).toContain('leak.app');
    expect(children).toEqual([expect.objectContaining({ name: `pid ${String(opened.childPid)} (sleep)`, stoppedBy: 'SIGTERM', signal: 'SIGTERM' })]);
    expect(alive(Number(opened.childPid))).toBe(false);
    // Not the module's own watchdog thread: only the application's.
    expect(workers).toEqual([expect.objectContaining({ stopped: true })]);
    expect(workers[0].name).toMatch(new RegExp(`^worker thread ${String(opened.workerThreadId)} \\(created at .*leak\\.app`));
    expect(app.output).toContain(`Terminated 1 worker thread(s) the application left running: worker thread ${String(opened.workerThreadId)} (created at`);
    expect(app.output).toMatch(/handle\(s\) opened since startup are still open after the shutdown \(the process exits anyway\)/);
    expect(app.output).toContain(`Stopped 1 child process(es) the application left running: pid ${String(opened.childPid)} (sleep) by SIGTERM`);
  });

  it('a provider that closes what it opened: nothing is reported open, no child is stopped', async () => {
    const { app, report } = start({ LEAK: '0' });
    await app.event('opened');
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(report().openHandles).toEqual([]);
    expect(report().children).toBeUndefined();
    expect(report().workers).toBeUndefined();
  });
});

describe('assertNoOpenHandles() in a test', () => {
  @Injectable()
  class Listener {
    readonly server: Server = createServer();
    constructor() {
      this.server.listen(0, '127.0.0.1');
    }
    @OnShutdown()
    close(): void {
      if (!process.env.GRACEFUL_TEST_LEAK) this.server.close();
    }
  }

  async function shutDown(leak: boolean): Promise<ShutdownReport> {
    @Module({ imports: [GracefulModule.forRoot({ logger: false, traceHandles: true })], providers: [Listener] })
    class ListenerModule {}
    process.env.GRACEFUL_TEST_LEAK = leak ? '1' : '';
    const moduleRef = await Test.createTestingModule({ imports: [ListenerModule] }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    const server = app.get(Listener).server;
    await new Promise((resolve) => (server.listening ? resolve(undefined) : server.once('listening', resolve)));
    const report = await runShutdown(app, { reason: 'test' });
    if (leak) server.close();
    return report;
  }

  it('fails naming the server a hook left open', async () => {
    const report = await shutDown(true);
    expect(() => assertNoOpenHandles(report)).toThrow(/1 handle\(s\) still open after the shutdown[\s\S]*server: Server on 127\.0\.0\.1:\d+/);
  });

  it('passes when every hook closed what it opened', async () => {
    const report = await shutDown(false);
    expect(() => assertNoOpenHandles(report)).not.toThrow();
  });
});
