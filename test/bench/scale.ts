/**
 * Rows 11 to 13 (issue 18): what the module costs an application of 16,000
 * providers with 8,000 hooks, each sample a fresh process. SIGTERM to exit
 * against `app.close()` of the same app; SIGTERM to the first hook, and the
 * end of the drain to the first hook, read from the report; the heap per
 * provider with and without the module.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ShutdownReport } from '../../lib/index.js';

const app = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'scale.app.js');

interface Sample {
  heapUsed: number;
  closeMs?: number;
  sigtermMs?: number;
  firstHookAfterSignalMs?: number;
  firstHookAfterDrainMs?: number;
}

/** One fresh process: `close` measures app.close(), `signal` SIGTERM to exit and the report's first hook. */
function once(count: number, graceful: boolean, stop: 'close' | 'signal'): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'graceful-scale-'));
  const reportFile = join(dir, 'report.json');
  return new Promise<Sample>((resolve, reject) => {
    const child = fork(app, [], {
      execArgv: ['--expose-gc'],
      env: { ...process.env, COUNT: String(count), GRACEFUL: graceful ? '1' : '', STOP: stop, REPORT_FILE: reportFile },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let sample: Sample | undefined;
    let signalled = 0;
    child.on('message', (message: { heapUsed: number; closeMs?: number; ready?: boolean }) => {
      sample = { heapUsed: message.heapUsed, closeMs: message.closeMs };
      if (message.ready) {
        signalled = performance.now();
        child.kill('SIGTERM');
      }
    });
    child.on('error', reject);
    child.on('exit', () => {
      if (!sample) return reject(new Error('scale.app ended without a sample'));
      if (stop === 'signal') {
        sample.sigtermMs = performance.now() - signalled;
        if (graceful) {
          const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ShutdownReport;
          const firstHook = Math.min(...report.hooks.filter((hook) => hook.start !== undefined).map((hook) => hook.start!));
          const drainEnd = report.stages.find((stage) => stage.name === 'drain')?.end ?? report.startedAt;
          sample.firstHookAfterSignalMs = firstHook - report.startedAt;
          sample.firstHookAfterDrainMs = firstHook - drainEnd;
        }
      }
      rmSync(dir, { recursive: true, force: true });
      resolve(sample);
    });
  });
}

export interface ScaleResult {
  count: number;
  closeMs: number;
  sigtermMs: number;
  firstHookAfterSignalMs: number;
  firstHookAfterDrainMs: number;
  heapPerProviderBytes: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function scaleAt(count: number, runs: number): Promise<ScaleResult> {
  const close: Sample[] = [];
  const signal: Sample[] = [];
  const plain: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    close.push(await once(count, true, 'close'));
    signal.push(await once(count, true, 'signal'));
    plain.push(await once(count, false, 'close'));
  }
  const heapWith = median([...close, ...signal].map((s) => s.heapUsed));
  return {
    count,
    closeMs: median(close.map((s) => s.closeMs!)),
    sigtermMs: median(signal.map((s) => s.sigtermMs!)),
    firstHookAfterSignalMs: median(signal.map((s) => s.firstHookAfterSignalMs!)),
    firstHookAfterDrainMs: median(signal.map((s) => s.firstHookAfterDrainMs!)),
    heapPerProviderBytes: (heapWith - median(plain.map((s) => s.heapUsed))) / count,
  };
}
