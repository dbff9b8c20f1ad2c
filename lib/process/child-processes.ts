/**
 * Child processes the application started: once the hooks and Nest's own
 * have run, each still running gets SIGTERM, and SIGKILL if it has not
 * exited when `signal` aborts (the deadline); each is awaited and named in
 * the report. None outlives the process.
 */
import type { ChildProcess } from 'node:child_process';
import type { ChildProcessReport } from '../interfaces/shutdown-report.interface.js';

export async function stopChildren(children: ChildProcess[], signal: AbortSignal): Promise<ChildProcessReport[]> {
  return Promise.all(children.map((child) => stopChild(child, signal)));
}

async function stopChild(child: ChildProcess, signal: AbortSignal): Promise<ChildProcessReport> {
  const name = `pid ${child.pid} (${child.spawnfile})`;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.kill('SIGTERM');
  let killed = false;
  const onAbort = () => {
    killed = true;
    child.kill('SIGKILL');
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  await exited;
  signal.removeEventListener('abort', onAbort);
  return { name, stoppedBy: killed ? 'SIGKILL' : 'SIGTERM', exitCode: child.exitCode, signal: child.signalCode };
}
