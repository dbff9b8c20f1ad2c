/**
 * The deadline's last resort, on a thread of its own: if the process is
 * still alive `ms` from now (a hook blocks the event loop, so the main
 * thread's own deadline cannot fire), it interrupts the blocked main thread
 * through the inspector, where one line naming what runs is written to
 * stderr and the process ends with `code`. Where that is impossible (no
 * inspector, a native call that never yields) it writes the line itself,
 * naming what it was last told, and kills the process a moment later.
 *
 * Nothing is sent to it per hook: what runs is read on the main thread at
 * the deadline (8,000 hooks of 0 ms are 16,000 starts and ends; a message to
 * the thread for each cost more than the hooks themselves).
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ownWorker } from '../process/worker-threads.js';

/** The main thread's side of each watchdog, by its thread id, shared by every copy of the package in the process. */
const FIRES = Symbol.for('nestjs-graceful.watchdogs');
const fires: Map<number, () => void> =
  ((globalThis as Record<symbol, unknown>)[FIRES] as Map<number, () => void> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[FIRES] = new Map<number, () => void>());

const SOURCE = `
const { parentPort, workerData, threadId } = require('node:worker_threads');
const { writeSync } = require('node:fs');
let running = workerData.running;
parentPort.on('message', (names) => { running = names; });
setTimeout(() => {
  try {
    const inspector = require('node:inspector');
    const session = new inspector.Session();
    session.connectToMainThread();
    session.post('Runtime.evaluate', { expression: 'globalThis[Symbol.for("nestjs-graceful.watchdogs")]?.get(' + threadId + ')?.()' });
  } catch {}
  setTimeout(() => {
    try { writeSync(2, workerData.message.replace('%RUNNING%', running) + '\\n'); } catch {}
    process.kill(process.pid, 'SIGKILL');
  }, workerData.killAfterMs);
}, workerData.ms);
`;

/** How long after the interrupt the watchdog kills the process outright. */
const KILL_AFTER_MS = 1000;

export class DeadlineWatchdog {
  private readonly worker: Worker;
  private last: string;

  /**
   * `message` may contain `%RUNNING%`, replaced by what `describe()` says
   * at the deadline (else by the names last given to `running()`).
   */
  constructor(ms: number, code: number, message: string, running: string, describe?: () => string | undefined) {
    this.last = running;
    this.worker = new Worker(SOURCE, { eval: true, workerData: { ms, code, message, running, killAfterMs: KILL_AFTER_MS }, stdout: false, stderr: false });
    ownWorker(this.worker);
    // It must never keep the process alive, nor fail it.
    this.worker.unref();
    this.worker.on('error', () => undefined);
    const id = this.worker.threadId;
    // Called on the main thread by the watchdog's interrupt, however blocked its event loop is.
    fires.set(id, () => {
      fires.delete(id);
      let names = this.last;
      try {
        names = describe?.() ?? names;
      } catch {
        // What it was last told, then.
      }
      try {
        writeSync(2, `${message.replace('%RUNNING%', names)}\n`);
      } catch {
        // stderr closed: the exit code still says it.
      }
      (process as unknown as { reallyExit(code: number): never }).reallyExit(code);
    });
  }

  /** What runs now (a stage), for the line the watchdog writes itself when the main thread cannot. */
  running(names: string): void {
    this.last = names;
    this.worker.postMessage(names);
  }

  stop(): void {
    fires.delete(this.worker.threadId);
    void this.worker.terminate();
  }
}
