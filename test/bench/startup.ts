/**
 * Startup at scale: each sample is a fresh process (a cold start, as in a
 * pod), plain and with the module alternately, so that both see the same
 * machine.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'startup.app.js');

/** Milliseconds from NestFactory.create to listening, in a fresh process. */
export function coldStart(count: number, graceful: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [app], {
      env: { ...process.env, COUNT: String(count), GRACEFUL: graceful ? '1' : '' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let elapsed: number | undefined;
    child.on('message', (message: { elapsed: number }) => (elapsed = message.elapsed));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && elapsed !== undefined ? resolve(elapsed) : reject(new Error(`startup.app exited ${code}`))));
  });
}

export interface StartupSample {
  count: number;
  plain: number[];
  graceful: number[];
}

/** `runs` rounds, each a plain and a module cold start back to back (which goes first alternates), so that both of a pair saw the same machine. */
export async function startupAt(count: number, runs: number): Promise<StartupSample> {
  const sample: StartupSample = { count, plain: [], graceful: [] };
  for (let i = 0; i < runs; i++) {
    const first = i % 2 === 0;
    const a = await coldStart(count, !first);
    const b = await coldStart(count, first);
    sample.plain.push(first ? a : b);
    sample.graceful.push(first ? b : a);
  }
  return sample;
}

/** What the module adds, as the median of each round's difference (both of a pair saw the same load), and against the plain median. */
export function addedByModule(sample: StartupSample): { ms: number; ratio: number } {
  const middle = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
  const ms = middle(sample.graceful.map((graceful, i) => graceful - sample.plain[i]));
  return { ms, ratio: ms / middle(sample.plain) };
}
