/**
 * The deadline's last resort, on a thread of its own: if the process is
 * still alive `ms` from now (a hook blocks the event loop, so the main
 * thread's own deadline cannot fire), it writes one line to stderr naming
 * what was running and ends the process with `code`. It interrupts the
 * blocked main thread through the inspector to exit with that code; where
 * that is impossible (no inspector, a native call that never yields) it
 * kills the process a moment later.
 */
import { Worker } from 'node:worker_threads';
import { ownWorker } from '../process/worker-threads.js';

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
let running = workerData.running;
parentPort.on('message', (names) => { running = names; });
setTimeout(() => {
  try { writeSync(2, workerData.message.replace('%RUNNING%', running) + '\\n'); } catch {}
  try {
    const inspector = require('node:inspector');
    const session = new inspector.Session();
    session.connectToMainThread();
    session.post('Runtime.evaluate', { expression: 'process.reallyExit(' + workerData.code + ')' });
  } catch {}
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), workerData.killAfterMs);
}, workerData.ms);
`;

/** How long after the interrupt the watchdog kills the process outright. */
const KILL_AFTER_MS = 1000;

export class DeadlineWatchdog {
  private readonly worker: Worker;

  /** `message` may contain `%RUNNING%`, replaced by the names last given to `running()`. */
  constructor(ms: number, code: number, message: string, running: string) {
    this.worker = new Worker(SOURCE, { eval: true, workerData: { ms, code, message, running, killAfterMs: KILL_AFTER_MS }, stdout: false, stderr: false });
    ownWorker(this.worker);
    // It must never keep the process alive, nor fail it.
    this.worker.unref();
    this.worker.on('error', () => undefined);
  }

  /** What runs now, for the last line. */
  running(names: string): void {
    this.worker.postMessage(names);
  }

  stop(): void {
    void this.worker.terminate();
  }
}
