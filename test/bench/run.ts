/**
 * `npm run bench`: nestjs-graceful against plain Nest, side by side in one
 * run, printed as one markdown table. `--smoke` runs every benchmark briefly
 * (CI does, to keep them working; it asserts nothing about time).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppProcess } from '../support/app-process.js';
import { get } from '../support/http.js';
import { rollingRestart } from '../support/rolling-restart.js';
import { haproxyRestart, type HaproxyMode, type HaproxyRun } from './haproxy.js';
import { realStackRestart, type StackRun } from './real-stack.js';
import { transportRestart, type TransportCase, type TransportRun } from './transports.js';
import { scaleAt } from './scale.js';
import { addedByModule, startupAt } from './startup.js';
import { buildAppModule, criticalPathMs, generateHookGraph, orderViolations, type StopEvent } from './generated-app.js';

const smoke = process.argv.includes('--smoke');
const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => join(here, 'fixtures', name);

interface Row {
  benchmark: string;
  graceful: string;
  plain: string;
  result: string;
  target: string;
  met?: boolean;
}
const rows: Row[] = [];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value: number) => `${value.toFixed(0)} ms`;
const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

async function rolling(): Promise<void> {
  const platforms = smoke ? (['express'] as const) : (['express', 'fastify'] as const);
  for (const clients of smoke ? [32] : [32, 128]) {
    for (const platform of platforms) {
      log(`rolling restart, ${platform}, ${clients} clients`);
      const steadyRequests = smoke ? 100 : 500;
      const graceful = await rollingRestart({ platform, mode: 'graceful', clients, steadyRequests });
      const plain = await rollingRestart({ platform, mode: 'plain', clients, steadyRequests });
      rows.push({
        benchmark: `1. Rolling restart, ${platform}, ${clients} keep-alive clients: failed requests`,
        graceful: `${graceful.failed} / ${graceful.total}`,
        plain: `${plain.failed} / ${plain.total}`,
        result: `${graceful.failed} failed vs ${plain.failed}`,
        target: '0 failed',
        met: graceful.failed === 0,
      });
    }
  }
}

async function scheduling(): Promise<void> {
  const hookMs = smoke ? 20 : 100;
  const providers = generateHookGraph(42, 50, 8, 6);
  const lowerBound = criticalPathMs(providers, hookMs);
  const sum = providers.length * hookMs;
  const measure = async (graceful: boolean) => {
    const events: StopEvent[] = [];
    const app = await NestFactory.createApplicationContext(buildAppModule(providers, { graceful, hookMs, events }), { logger: false });
    const start = performance.now();
    await app.close();
    return { wall: performance.now() - start, violations: orderViolations(providers, events) };
  };
  log('hook scheduling');
  const graceful = await measure(true);
  const plain = await measure(false);
  rows.push({
    benchmark: `2. Shutdown of 50 hooks x ${hookMs} ms over 8 modules (chains <= 6): wall time; critical path ${ms(lowerBound)}, sum ${ms(sum)}`,
    graceful: `${ms(graceful.wall)}, ${graceful.violations} order violations`,
    plain: `${ms(plain.wall)}, ${plain.violations} order violations`,
    result: `${(graceful.wall / lowerBound).toFixed(3)} x critical path; ${(graceful.wall / sum).toFixed(2)} x sum; ${(graceful.wall / plain.wall).toFixed(2)} x plain`,
    target: '<= 1.05 x critical path + 20 ms',
    met: graceful.wall <= 1.05 * lowerBound + 20 && graceful.violations === 0,
  });
}

async function sigtermToExit(): Promise<void> {
  const once = async (mode: 'graceful' | 'plain') => {
    const app = new AppProcess(fixture('ping.app.js'), mode === 'graceful' ? { WITH_MODULE: '1' } : {});
    const port = await app.port();
    const agents = Array.from({ length: 50 }, () => new Agent({ keepAlive: true }));
    await Promise.all(agents.map((agent) => get(port, '/ping', agent)));
    const start = performance.now();
    app.signal('SIGTERM');
    await app.exited;
    const elapsed = performance.now() - start;
    agents.forEach((agent) => agent.destroy());
    return elapsed;
  };
  const runs = smoke ? 1 : 7;
  const graceful: number[] = [];
  const plain: number[] = [];
  log('SIGTERM to exit');
  for (let i = 0; i < runs; i++) {
    graceful.push(await once('graceful'));
    plain.push(await once('plain'));
  }
  const g = median(graceful);
  rows.push({
    benchmark: '3. SIGTERM to exit, 50 idle keep-alive clients, no readiness delay (median)',
    graceful: ms(g),
    plain: ms(median(plain)),
    result: `${(g / median(plain)).toFixed(2)} x plain`,
    target: '<= 100 ms',
    met: g <= 100,
  });
}

/** Issue 16: SIGTERM while a provider's onModuleInit retries a connection forever (test/fixtures/hung-start.app.ts). */
async function hungStartup(): Promise<void> {
  const once = async (mode: 'graceful' | 'plain') => {
    const app = new AppProcess('hung-start.app.js', { HANG: 'init', ...(mode === 'plain' ? { PLAIN: '1' } : {}) });
    try {
      await app.event('connecting');
      const start = performance.now();
      app.signal('SIGTERM');
      const exit = await app.exited;
      const elapsed = performance.now() - start;
      const hooks = app.events.filter((e) => e.type === 'hook-end' || e.type === 'nest-destroy').length;
      return { elapsed, hooks, exit: exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}` };
    } finally {
      app.dispose();
    }
  };
  const runs = smoke ? 1 : 5;
  const graceful: Array<Awaited<ReturnType<typeof once>>> = [];
  const plain: Array<Awaited<ReturnType<typeof once>>> = [];
  log('SIGTERM during a hung startup');
  for (let i = 0; i < runs; i++) {
    graceful.push(await once('graceful'));
    plain.push(await once('plain'));
  }
  const describe = (r: typeof graceful, hooks: string) =>
    `${ms(median(r.map((x) => x.elapsed)))}; ${Math.min(...r.map((x) => x.hooks))} of ${hooks} ran; ${[...new Set(r.map((x) => x.exit))].join(', ')}`;
  const g = median(graceful.map((x) => x.elapsed));
  rows.push({
    benchmark: '14. SIGTERM during a hung onModuleInit (a provider retrying forever): time to exit, hooks run of what started (median)',
    graceful: describe(graceful, "2 hooks (A's @OnShutdown, A's onModuleDestroy)"),
    plain: describe(plain, "1 hook (A's onModuleDestroy)"),
    result: `${ms(g)} vs ${ms(median(plain.map((x) => x.elapsed)))}`,
    // The module waits STARTUP_ABORT_MS (1 s) for the step under way before it rolls back without it.
    target: "<= 1.5 s, A's hook and Nest's destroy hook run, exit 1",
    met: g <= 1500 && graceful.every((x) => x.hooks === 2 && x.exit === 'exit 1'),
  });
}

async function throughput(): Promise<void> {
  const runs = smoke ? 1 : 5;
  const duration = smoke ? 1 : 5;
  const once = async (withModule: boolean) => {
    const app = new AppProcess(fixture('ping.app.js'), withModule ? { WITH_MODULE: '1' } : {});
    try {
      const port = await app.port();
      const result = await autocannon({ url: `http://127.0.0.1:${port}/ping`, connections: 32, duration });
      return result.requests.average;
    } finally {
      app.signal('SIGTERM');
      await app.exited;
    }
  };
  const graceful: number[] = [];
  const plain: number[] = [];
  log('throughput');
  for (let i = 0; i < runs; i++) {
    plain.push(await once(false));
    graceful.push(await once(true));
  }
  const ratio = median(graceful) / median(plain);
  rows.push({
    benchmark: `4. Throughput, GET /ping on Express, 32 connections (median of ${runs} x ${duration} s, alternating)`,
    graceful: `${median(graceful).toFixed(0)} req/s`,
    plain: `${median(plain).toFixed(0)} req/s`,
    result: `${ratio.toFixed(3)} x plain`,
    target: '>= 0.98',
    met: ratio >= 0.98,
  });
}

async function startup(): Promise<void> {
  // Each sample a fresh process (a cold start, as in a pod): NestFactory.create + listen, one class per provider.
  // Rounds of a plain and a module start back to back: on a shared machine, the median of the rounds' differences moves far less than a difference of medians.
  for (const count of smoke ? [2000] : [2000, 8000, 16_000]) {
    // A small app's start is short and its rounds cheap: more of them, for a difference of a few milliseconds on a shared machine.
    const runs = smoke ? 1 : count <= 2000 ? 21 : count >= 16_000 ? 11 : 9;
    log(`startup, ${count} providers`);
    const sample = await startupAt(count, runs);
    const added = addedByModule(sample);
    rows.push({
      benchmark: `5. Startup, ${count.toLocaleString('en-US')} providers (one class each, chains of 3, half with hooks): NestFactory.create + listen, fresh process (${runs} rounds of a pair; added: median of the rounds' differences)`,
      graceful: ms(median(sample.graceful)),
      plain: ms(median(sample.plain)),
      result: `${added.ms >= 0 ? '+' : ''}${ms(added.ms)} (${added.ratio >= 0 ? '+' : ''}${(added.ratio * 100).toFixed(1)} %)`,
      target: '<= 5 % added',
      met: added.ratio <= 0.05,
    });
  }
}

/** (a) Through a real HAProxy: plain Nest with terminus' sleep, the module with a fixed delay, the module measuring it. */
async function haproxy(): Promise<void> {
  const runs = smoke ? 1 : 3;
  const results: Record<HaproxyMode, HaproxyRun[]> = { plain: [], fixed: [], measured: [] };
  for (let i = 0; i < runs; i++) {
    for (const mode of ['measured', 'fixed', 'plain'] as const) {
      log(`rolling restart through HAProxy, ${mode}, run ${i + 1}`);
      results[mode].push(await haproxyRestart(mode, { steadyMs: smoke ? 500 : 2000 }));
    }
  }
  const describe = (mode: HaproxyMode) => {
    const r = results[mode];
    const failed = r.map((run) => run.failed);
    return `${failed.join(' / ')} failed of ${r.reduce((n, run) => n + run.requests, 0)}; exit ${r.map((run) => ms(run.exitMs)).join(' / ')}`;
  };
  const failed = (mode: HaproxyMode) => results[mode].reduce((n, run) => n + run.failed, 0);
  rows.push({
    benchmark: `8. Rolling restart through a real HAProxy (checks every 200 ms, fall 1, retries 0; autocannon, 64 keep-alive connections), ${runs} run(s): failed requests and old instance's SIGTERM to exit; measured delay against a fixed 1,500 ms`,
    graceful: `measured: ${describe('measured')} (${results.measured.map((run) => run.delay).join('; ')}); fixed: ${describe('fixed')}`,
    plain: describe('plain'),
    result: `${failed('measured')} vs ${failed('fixed')} vs ${failed('plain')} failed; median exit ${ms(median(results.measured.map((r) => r.exitMs)))} vs ${ms(median(results.fixed.map((r) => r.exitMs)))}`,
    target: '0 failed, measured exits sooner than fixed',
    met: failed('measured') === 0 && failed('fixed') === 0 && median(results.measured.map((r) => r.exitMs)) < median(results.fixed.map((r) => r.exitMs)),
  });
}

/** (c) SIGTERM to exit while keep-alive clients keep sending, no balancer, no readiness delay. */
async function busyExit(): Promise<void> {
  const killAfterMs = smoke ? 5000 : 30_000;
  const once = async (withModule: boolean) => {
    const app = new AppProcess(fixture('ping.app.js'), withModule ? { WITH_MODULE: '1' } : {});
    const port = await app.port();
    const load = autocannon({ url: `http://127.0.0.1:${port}/ping`, connections: 50, duration: 3600 }, () => undefined);
    let failed = 0;
    load.on('response', (_client: unknown, status: number) => status >= 400 && failed++);
    load.on('reqError', () => failed++);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const start = performance.now();
    app.signal('SIGTERM');
    const killer = setTimeout(() => app.signal('SIGKILL'), killAfterMs);
    const exit = await app.exited;
    clearTimeout(killer);
    const elapsed = performance.now() - start;
    load.stop();
    return { elapsed, failed, exit: exit.signal === 'SIGKILL' ? `SIGKILL at ${killAfterMs / 1000} s` : `exit ${exit.code ?? exit.signal}` };
  };
  const runs = smoke ? 1 : 3;
  const graceful: Array<Awaited<ReturnType<typeof once>>> = [];
  const plain: Array<Awaited<ReturnType<typeof once>>> = [];
  log('SIGTERM to exit under busy keep-alive clients');
  for (let i = 0; i < runs; i++) {
    graceful.push(await once(true));
    plain.push(await once(false));
  }
  const describe = (r: typeof graceful) => `${ms(median(r.map((x) => x.elapsed)))} (${r.map((x) => `${x.exit}, ${x.failed} failed`).join('; ')})`;
  rows.push({
    benchmark: `9. SIGTERM to exit, 50 busy keep-alive clients (autocannon), no readiness delay (median of ${runs})`,
    graceful: describe(graceful),
    plain: describe(plain),
    result: `${ms(median(graceful.map((x) => x.elapsed)))} vs ${ms(median(plain.map((x) => x.elapsed)))}`,
    target: 'exit 0 within the drain, no SIGKILL',
    met: graceful.every((x) => x.exit === 'exit 0'),
  });
}

async function memory(): Promise<void> {
  const cycles = smoke ? 60 : 500;
  const once = (withModule: boolean) =>
    new Promise<{ before: number; after: number; cycles: number; sigtermListeners: number; warnings: string[] }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--expose-gc', fixture('cycles.app.js')], {
        env: { ...process.env, CYCLES: String(cycles), ...(withModule ? { WITH_MODULE: '1' } : {}) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`cycles exited ${code}`))));
    });
  log('memory');
  const graceful = await once(true);
  const plain = await once(false);
  const perCycle = (r: typeof graceful) => (r.after - r.before) / r.cycles;
  const describe = (r: typeof graceful) =>
    `${((r.after - r.before) / 1024).toFixed(0)} KiB over ${r.cycles} cycles; ${r.sigtermListeners} SIGTERM listeners; ${r.warnings.length} warnings`;
  rows.push({
    benchmark: `6. Heap growth over ${cycles} create/close cycles (after full GC)`,
    graceful: describe(graceful),
    plain: describe(plain),
    result: `${perCycle(graceful).toFixed(0)} B/cycle vs ${perCycle(plain).toFixed(0)} B/cycle`,
    target: 'no growth beyond noise, no leaked listener, no warning',
    // Plain Nest itself keeps a little per cycle; noise here is about a kilobyte per cycle.
    met: perCycle(graceful) <= perCycle(plain) + 1024 && graceful.sigtermListeners === 0 && graceful.warnings.length === 0,
  });
}

async function realStack(): Promise<void> {
  const options = { steadyMs: smoke ? 500 : 2000, graceMs: smoke ? 5000 : 30_000 };
  log('real stack restart (redis-server, BullMQ, Redis transport, SSE, ws, schedule), graceful');
  const graceful = await realStackRestart('graceful', options);
  log('real stack restart, plain Nest');
  const plain = await realStackRestart('plain', options);
  const describe = (r: StackRun) =>
    `${r.failed} failed, ${r.jobsLost} lost, ${r.jobsDuplicated} duplicated of ${r.jobsAdded} jobs; ${r.exit} after ${ms(r.exitMs)}`;
  rows.push({
    benchmark: '7. Rolling restart of a real stack under load: work failed on the closed pool, jobs lost and duplicated, SIGTERM to exit',
    graceful: describe(graceful),
    plain: describe(plain),
    result: `${graceful.failed} failed vs ${plain.failed}; exit ${ms(graceful.exitMs)} vs ${ms(plain.exitMs)}`,
    target: '0 failed, 0 lost, 0 duplicated, exit 0',
    met: graceful.failed === 0 && graceful.jobsLost === 0 && graceful.jobsDuplicated === 0 && graceful.exit === 'exit 0',
  });
}

async function transports(): Promise<void> {
  const options = { steadyMs: smoke ? 300 : 1500, graceMs: smoke ? 5000 : 30_000 };
  const names: Record<TransportCase, string> = { rmq: 'RabbitMQ (noAck, hybrid)', nats: 'NATS (queue group)', mqtt: 'MQTT', grpc: 'gRPC (unary)' };
  const describe = (r: TransportRun) => `${r.failed} failed, ${r.lost} lost, ${r.duplicated} duplicated of ${r.sent}; ${r.exit} after ${ms(r.exitMs)}`;
  for (const transport of smoke ? (['nats'] as const) : (['rmq', 'nats', 'mqtt', 'grpc'] as const)) {
    log(`transport restart, ${names[transport]}`);
    const { graceful, plain } = await transportRestart(transport, options);
    rows.push({
      benchmark: `10. Rolling restart of a ${names[transport]} consumer under load: units failed, lost, duplicated; SIGTERM to exit`,
      graceful: describe(graceful),
      plain: describe(plain),
      result: `${graceful.failed + graceful.lost + graceful.duplicated} vs ${plain.failed + plain.lost + plain.duplicated} units failed, lost or duplicated`,
      target: '0 failed, 0 lost, 0 duplicated, exit 0',
      met: graceful.failed === 0 && graceful.lost === 0 && graceful.duplicated === 0 && graceful.exit === 'exit 0',
    });
  }
}

async function scale(): Promise<void> {
  // Rows 11 and 12 at the larger size; row 13 (heap) at both, where a fixed cost weighs most on the smaller.
  const counts = smoke ? [2000] : [2000, 16_000];
  for (const count of counts) {
    log(`scale: ${count} providers, ${count / 2} hooks of 0 ms`);
    const r = await scaleAt(count, smoke ? 1 : 5);
    if (count === counts[counts.length - 1]) {
      rows.push({
        benchmark: `11. ${count} providers, ${count / 2} hooks of 0 ms: SIGTERM to exit against app.close() of the same app`,
        graceful: `SIGTERM ${ms(r.sigtermMs)}, app.close() ${ms(r.closeMs)}`,
        plain: '',
        result: `${(r.sigtermMs / r.closeMs).toFixed(2)} x app.close()`,
        target: '<= 1.2 x app.close()',
        met: r.sigtermMs <= 1.2 * r.closeMs,
      });
      rows.push({
        benchmark: `12. ${count} providers: SIGTERM to the first hook; end of the drain to the first hook`,
        graceful: `${ms(r.firstHookAfterSignalMs)}; ${ms(r.firstHookAfterDrainMs)}`,
        plain: '',
        result: `${ms(r.firstHookAfterDrainMs)} after the drain`,
        target: '<= 20 ms after the drain',
        met: r.firstHookAfterDrainMs <= 20,
      });
    }
    rows.push({
      benchmark: `13. ${count} providers: heap the module adds per provider (after a full GC, once listening)`,
      graceful: `${r.heapPerProviderBytes.toFixed(0)} B`,
      plain: '0 B',
      result: `${r.heapPerProviderBytes.toFixed(0)} B per provider`,
      target: '<= 250 B per provider',
      met: r.heapPerProviderBytes <= 250,
    });
  }
}

function versions(): string {
  const require = createRequire(import.meta.url);
  const version = (name: string) => JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version as string;
  return `${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, @nestjs/core ${version('@nestjs/core')}, @nestjs/terminus ${version('@nestjs/terminus')}${smoke ? ', SMOKE RUN (numbers not meaningful)' : ''}`;
}

const started = performance.now();
for (const bench of [scheduling, startup, scale, memory, sigtermToExit, hungStartup, busyExit, throughput, rolling, realStack, transports, haproxy])
  await bench();
const table = [
  `Measured ${versions()}; ${ms(performance.now() - started)} in all.`,
  '',
  '| Benchmark | nestjs-graceful | plain Nest | Result | Target | Met |',
  '| --- | --- | --- | --- | --- | --- |',
  ...[...rows]
    .sort((a, b) => parseInt(a.benchmark) - parseInt(b.benchmark))
    .map((r) => `| ${r.benchmark} | ${r.graceful} | ${r.plain} | ${r.result} | ${r.target} | ${r.met === undefined ? '' : r.met ? 'yes' : 'no'} |`),
].join('\n');
process.stdout.write(`${table}\n`);
