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

export async function startupAt(count: number, runs: number): Promise<StartupSample> {
  const sample: StartupSample = { count, plain: [], graceful: [] };
  for (let i = 0; i < runs; i++) {
    sample.plain.push(await coldStart(count, false));
    sample.graceful.push(await coldStart(count, true));
  }
  return sample;
}
