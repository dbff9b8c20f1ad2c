import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { ShutdownReport } from '../../lib/index.js';
import { appProcesses, FIXTURES, type AppProcess } from '../support/app-process.js';
import { get } from '../support/http.js';

const apps = appProcesses();
/** No platform variable leaks in from the machine that runs the tests (a CI pod, say). */
const clean = {
  KUBERNETES_SERVICE_HOST: '',
  K_SERVICE: '',
  K_REVISION: '',
  ECS_CONTAINER_METADATA_URI_V4: '',
  ECS_CONTAINER_METADATA_URI: '',
  pm_id: '',
  // Nor what `npm test` and Jest set, which the launcher check reads.
  npm_lifecycle_event: '',
  npm_config_user_agent: '',
  JEST_WORKER_ID: '',
};

function start(options: object, env: Record<string, string> = {}, platform = 'express') {
  const reportFile = join(mkdtempSync(join(tmpdir(), 'graceful-')), 'report.json');
  const app = apps.start('http.app.js', { ...clean, PLATFORM: platform, GRACEFUL_OPTIONS: JSON.stringify({ reportFile, ...options }), ...env });
  return { app, report: () => JSON.parse(readFileSync(reportFile, 'utf8')) as ShutdownReport };
}

/** Requests `path` one after another until the process exits (as a balancer's checks or a client's traffic would). */
function keepRequesting(app: AppProcess, port: number, path: string, everyMs: number): { statuses: number[]; done: Promise<void> } {
  const statuses: number[] = [];
  let exited = false;
  void app.exited.then(() => (exited = true));
  const done = (async () => {
    while (!exited) {
      const status = await get(port, path).then(
        (response) => response.status,
        () => -1,
      );
      if (status === -1) break; // refused: the drain has stopped accepting
      statuses.push(status);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return { statuses, done };
}

describe.each(['express', 'fastify'])('the measured readiness delay on %s', (platform) => {
  it('ends early once a readiness probe has seen the instance down and only probes arrive', async () => {
    const { app, report } = start({ platform: 'none', readinessDelayMs: 60_000, readinessQuietMs: 300 }, {}, platform);
    const port = await app.port();
    expect((await get(port, '/health/ready')).status).toBe(200);
    app.signal('SIGTERM');
    await app.printed('Readiness reports down');
    const probes = keepRequesting(app, port, '/health/ready', 50);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await probes.done;
    expect(probes.statuses).toContain(503);
    const delay = report().readinessDelay!;
    expect(delay).toMatchObject({ endedBy: 'quiet', boundMs: 60_000, quietMs: 300 });
    expect(delay.probeDownAfterMs).toBeDefined();
    expect(delay.lastRequestAfterMs).toBeUndefined();
    expect(delay.probes).toBeGreaterThan(0);
    expect(app.output).toContain('a probe saw the instance down and traffic went quiet');
  });
});

describe("terminus' log of the checks that fail during the shutdown", () => {
  it.each([
    ['its default logger: each probe during the shutdown is an error', 'nest', true],
    ['GracefulTerminusLogger: at debug level, not as an error', 'graceful', false],
  ])('%s; a check failing while the app runs is an error with both', async (_name, logger, errorInShutdown) => {
    const { app } = start({ platform: 'none', readinessDelayMs: 60_000, readinessQuietMs: 300 }, { TERMINUS_LOGGER: logger });
    const port = await app.port();
    expect((await get(port, '/health/broken')).status).toBe(503);
    await app.printed('Health Check has failed! {"db":{"status":"down"}}');
    app.signal('SIGTERM');
    await app.printed('Readiness reports down');
    const probes = keepRequesting(app, port, '/health/ready', 50);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await probes.done;
    expect(probes.statuses).toContain(503);
    expect(app.output.includes('Health Check has failed! {"graceful":{"state":"draining","status":"down"}}')).toBe(errorInShutdown);
  });
});

describe('the measured readiness delay', () => {
  it('waits its full bound while traffic other than probes goes on', async () => {
    const { app, report } = start({ platform: 'none', readinessDelayMs: 1500, readinessQuietMs: 500 });
    const port = await app.port();
    app.signal('SIGTERM');
    await app.printed('Readiness reports down');
    const probes = keepRequesting(app, port, '/health/ready', 50);
    const traffic = keepRequesting(app, port, '/ping', 20);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await Promise.all([probes.done, traffic.done]);
    const delay = report().readinessDelay!;
    expect(delay.endedBy).toBe('bound');
    expect(delay.probeDownAfterMs).toBeDefined();
    expect(delay.lastRequestAfterMs).toBeDefined();
    expect(traffic.statuses.every((status) => status === 200)).toBe(true);
    expect(app.output).toContain('its bound (readinessDelayMs)');
  });

  it('never ends before its floor, however quiet the traffic', async () => {
    const { app, report } = start({ platform: 'none', readinessDelayMs: 60_000, readinessMinDelayMs: 1200, readinessQuietMs: 100 });
    const port = await app.port();
    app.signal('SIGTERM');
    await app.printed('Readiness reports down');
    const probes = keepRequesting(app, port, '/health/ready', 50);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    await probes.done;
    const delay = report().readinessDelay!;
    expect(delay).toMatchObject({ endedBy: 'quiet', floorMs: 1200 });
    // A floor is a lower bound that timers keep: this cannot fail by the machine being slow.
    expect(delay.waitedMs).toBeGreaterThanOrEqual(1200);
  });

  it('waits its bound when no probe sees it down (the balancer may not have noticed)', async () => {
    const { app, report } = start({ platform: 'none', readinessDelayMs: 800, readinessQuietMs: 100 });
    await app.port();
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(report().readinessDelay).toMatchObject({ endedBy: 'bound', requests: 0 });
    expect(report().readinessDelay!.probeDownAfterMs).toBeUndefined();
  });

  it('by default outside Kubernetes, there is no delay unless something probed readiness before the signal', async () => {
    const unprobed = start({ platform: 'none' });
    await unprobed.app.port();
    unprobed.app.signal('SIGTERM');
    expect(await unprobed.app.exited).toEqual({ code: 0, signal: null });
    expect(unprobed.report().readinessDelay).toBeUndefined();
    expect(unprobed.report().stages.map((stage) => stage.name)).not.toContain('readiness delay');

    const probed = start({ platform: 'none', readinessQuietMs: 200 });
    const port = await probed.app.port();
    expect((await get(port, '/health/ready')).status).toBe(200);
    probed.app.signal('SIGTERM');
    await probed.app.printed('Readiness reports down');
    const probes = keepRequesting(probed.app, port, '/health/ready', 50);
    expect(await probed.app.exited).toEqual({ code: 0, signal: null });
    await probes.done;
    expect(probed.report().readinessDelay).toMatchObject({ boundMs: 5000, endedBy: 'quiet' });
  });
});

describe('platform profiles, detected from the environment of a real process', () => {
  const startup = async (env: Record<string, string>, options: object = {}) => {
    const { app } = start(options, env);
    await app.port();
    return app.output;
  };

  it.each([
    [
      { K_SERVICE: 'api', K_REVISION: 'api-00042' },
      {},
      'platform: Cloud Run (K_SERVICE and K_REVISION are set), grace 10 s; deadline 9 s, drain 3.6 s, no readiness delay',
    ],
    [
      { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc' },
      {},
      'platform: Amazon ECS (ECS_CONTAINER_METADATA_URI_V4 is set), grace 30 s; deadline 25 s, drain 10 s, no readiness delay',
    ],
    [
      { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
      {},
      'platform: Kubernetes (KUBERNETES_SERVICE_HOST is set), grace 30 s; deadline 25 s, drain 10 s, readiness delay up to 5 s, ending once probes saw it down and traffic was quiet 1 s, not before 3 s',
    ],
    [
      { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
      { preStopMs: 5000 },
      'platform: Kubernetes (KUBERNETES_SERVICE_HOST is set), grace 30 s, preStop 5 s; deadline 20 s, drain 8 s, no readiness delay',
    ],
    [{ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, { platform: 'docker' }, "platform: Docker (platform: 'docker'), grace 10 s; deadline 9 s"],
  ])('%j %j: logs its budget at startup', async (env, options, line) => {
    expect(await startup(env, options)).toContain(line);
  });

  it('platform: none logs no platform line', async () => {
    expect(await startup({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, { platform: 'none' })).not.toContain('platform:');
  });
});

describe('PM2, for real', () => {
  const pm2 = createRequire(import.meta.url).resolve('pm2/bin/pm2');
  const run = promisify(execFile);
  const withPm2 = async (test: (cli: (...args: string[]) => Promise<{ stdout: string }>, home: string, reportFile: string) => Promise<void>) => {
    const home = mkdtempSync(join(tmpdir(), 'pm2-'));
    const reportFile = join(home, 'report.json');
    const env = { ...process.env, ...clean, PM2_HOME: home, GRACEFUL_OPTIONS: JSON.stringify({ reportFile }) };
    const cli = (...args: string[]) => run(process.execPath, [pm2, ...args], { env });
    try {
      await test(cli, home, reportFile);
    } finally {
      await cli('kill').catch(() => undefined);
    }
  };
  const report = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as ShutdownReport;

  it('wait_ready: a reload goes on as soon as the new instance says "ready" (without it, PM2 would wait out the listen timeout)', async () => {
    await withPm2(async (cli, home, reportFile) => {
      // The listen timeout is far beyond the test's own: the reload can only end in time because 'ready' arrived.
      await cli(
        'start',
        join(FIXTURES, 'http.app.js'),
        '--name',
        'graceful',
        '-i',
        '1',
        '--wait-ready',
        '--listen-timeout',
        '600000',
        '--kill-timeout',
        '8000',
      );
      await cli('reload', 'graceful');
      // The old instance shut down gracefully once the new one was ready.
      expect(report(reportFile)).toMatchObject({ exitCode: 0 });
      expect(readFileSync(join(home, 'logs', 'graceful-out-0.log'), 'utf8')).toContain(
        'platform: PM2 (pm_id is set and PM2 is the parent), grace 8 s; deadline 7 s',
      );
    });
  });

  it('shutdown_with_message: PM2\'s "shutdown" message runs the graceful shutdown, as SIGTERM would', async () => {
    await withPm2(async (cli, home, reportFile) => {
      await cli('start', join(FIXTURES, 'http.app.js'), '--name', 'graceful', '--kill-timeout', '8000', '--shutdown-with-message');
      // PM2 reports the app online before it has booted: wait for the fixture's own "listening" line in PM2's log.
      const log = join(home, 'logs', 'graceful-out.log');
      while (!(existsSync(log) && readFileSync(log, 'utf8').includes('"type":"listening"'))) await new Promise((resolve) => setTimeout(resolve, 50));
      await cli('stop', 'graceful');
      expect(report(reportFile)).toMatchObject({ reason: 'shutdown', exitCode: 0 });
    });
  });
});

describe('startup diagnostics, each in a real process set up that way', () => {
  const inContainer = { KUBERNETES_SERVICE_HOST: '10.96.0.1' };
  const warnings = (output: string) => output.split('\n').filter((line) => line.includes('WARN'));

  it('stays silent for an app started directly, with nothing else listening to its signals', async () => {
    const { app } = start({}, inContainer);
    await app.port();
    expect(warnings(app.output)).toEqual([]);
  });

  it('started through npm in a container: names npm and the script', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npm-app-'));
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'app', private: true, scripts: { 'start:prod': `node ${join(FIXTURES, 'http.app.js')}` } }),
    );
    const app = apps.start(
      'http.app.js',
      { ...clean, ...inContainer, PLATFORM: 'express' },
      { command: 'npm', args: () => ['run', '--silent', 'start:prod'], cwd: dir },
    );
    await app.port();
    expect(app.output).toContain('Started through npm (script "start:prod") inside a container');
  });

  it('started by a shell that stays in between: names the shell', async () => {
    const app = apps.start(
      'http.app.js',
      { ...clean, ...inContainer, PLATFORM: 'express' },
      { command: 'sh', args: (script) => ['-c', `node ${script}; exit $?`] },
    );
    await app.port();
    expect(app.output).toContain('Started by a shell (sh) inside a container');
  });

  it("terminus' gracefulShutdownTimeoutMs set as well", async () => {
    const { app } = start({}, { TERMINUS_GRACE: '3000' });
    await app.port();
    expect(app.output).toContain("@nestjs/terminus' gracefulShutdownTimeoutMs (3000) is set as well");
  });

  it('@nestjs/terminus of another major than @nestjs/core where the entry script is installed: names both and the install to run', async () => {
    // An entry script whose node_modules hold Nest 12's core and terminus 11 (their package.json, copied from the installed packages).
    const dir = mkdtempSync(join(tmpdir(), 'graceful-majors-'));
    for (const [name, from] of [
      ['core', join(process.cwd(), 'node_modules')],
      ['terminus', join(process.cwd(), 'test', 'nest11', 'node_modules')],
    ]) {
      mkdirSync(join(dir, 'node_modules', '@nestjs', name), { recursive: true });
      cpSync(join(from, '@nestjs', name, 'package.json'), join(dir, 'node_modules', '@nestjs', name, 'package.json'));
    }
    const main = join(dir, 'main.mjs');
    writeFileSync(main, `await import(${JSON.stringify(pathToFileURL(join(FIXTURES, 'http.app.js')).href)});\n`);
    const app = apps.start('http.app.js', { ...clean, PLATFORM: 'express' }, { command: process.execPath, args: () => [main] });
    await app.port();
    expect(app.output).toMatch(/@nestjs\/terminus 11\.\d+\.\d+ is installed with @nestjs\/core 12\.\d+\.\d+: their majors differ/);
    expect(app.output).toContain('npm install @nestjs/terminus@12');
  });

  it('no warning about the majors where terminus and core match (this repository: 12 and 12)', async () => {
    const { app } = start({}, { TERMINUS_GRACE: '3000' });
    await app.port();
    // The diagnostics ran, and saw terminus:
    expect(app.output).toContain("@nestjs/terminus' gracefulShutdownTimeoutMs (3000) is set as well");
    expect(app.output).not.toContain('their majors differ');
  });

  it('other listeners on SIGTERM: named by function, and by where they were added when added after the module', async () => {
    const { app } = start({}, { EARLY_SIGTERM_LISTENER: '1', LATE_SIGTERM_LISTENER: '1' });
    await app.port();
    expect(app.output).toContain('Another SIGTERM listener is registered: flushTelemetry()');
    expect(app.output).toMatch(/Another SIGTERM listener is registered: closeQueue\(\), added at .*http\.app\.js/);
  });

  it('with strict, a problem found at startup stops the application from starting', async () => {
    const { app } = start({ strict: true }, { TERMINUS_GRACE: '3000' });
    expect((await app.exited).code).not.toBe(0);
    expect(app.output).toContain("GracefulModule (strict): @nestjs/terminus' gracefulShutdownTimeoutMs (3000) is set as well");
  });
});
