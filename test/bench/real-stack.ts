/**
 * Row 7: a rolling restart of the real stack (test/fixtures/stack.app.ts: a
 * pool that fails once closed, BullMQ, the Redis transport, SSE, ws, a cron
 * and a hand-written poller) under producers that keep producing, with the
 * module set up as the README says, against the same app in plain Nest.
 * A new instance starts, the old one gets SIGTERM, the new one takes the
 * backlog. Counts work failed on the closed pool, jobs lost and duplicated,
 * and the old instance's SIGTERM-to-exit time (plain Nest is killed at the
 * grace period, as a kubelet would).
 */
import { Logger } from '@nestjs/common';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { Queue } from 'bullmq';
import { get } from 'node:http';
import WebSocket from 'ws';
import { AppProcess } from '../support/app-process.js';
import { startRedis } from '../support/redis.js';

export interface StackRun {
  /** Jobs, events, ticks, polls and requests that hit the closed pool in the old instance. */
  failed: number;
  jobsAdded: number;
  jobsLost: number;
  jobsDuplicated: number;
  exitMs: number;
  exit: string;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function realStackRestart(mode: 'graceful' | 'plain', { steadyMs, graceMs }: { steadyMs: number; graceMs: number }): Promise<StackRun> {
  Logger.overrideLogger(false);
  const redis = await startRedis();
  const connection = { host: '127.0.0.1', port: redis.port };
  const env = { REDIS_PORT: String(redis.port), ...(mode === 'plain' ? { PLAIN: '1' } : {}) };
  const queue = new Queue('work', { connection });
  const publisher = ClientProxyFactory.create({ transport: Transport.REDIS, options: connection });
  await publisher.connect();
  const old = new AppProcess('stack.app.js', env);
  const port = Number((await old.event('listening')).port);

  let producing = true;
  let added = 0;
  const producer = (async () => {
    for (let n = 0; producing; n++) {
      await queue.add('job', { n }, { jobId: `job-${n}`, removeOnComplete: true });
      publisher.emit('evt', n).subscribe({ error: () => undefined });
      added = n + 1;
      await pause(5);
    }
  })();
  get({ host: '127.0.0.1', port, path: '/events' }, (response) => response.resume()).on('error', () => undefined);
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`).on('error', () => undefined);
  await pause(steadyMs);

  const fresh = new AppProcess('stack.app.js', env);
  await fresh.event('listening');
  const signalled = performance.now();
  old.signal('SIGTERM');
  const killer = setTimeout(() => old.signal('SIGKILL'), graceMs);
  const exited = await old.exited;
  const exitMs = performance.now() - signalled;
  clearTimeout(killer);
  producing = false;
  await producer;
  socket.terminate();

  const done = (app: AppProcess) => app.events.filter((e) => e.type === 'job-done').map((e) => e.n as number);
  // The new instance takes the backlog; a job the old one held when killed waits for BullMQ's stalled check (30 s).
  await Promise.race([fresh.until(() => new Set([...done(old), ...done(fresh)]).size >= added, 'backlog done'), pause(graceMs + 35_000)]);
  const all = [...done(old), ...done(fresh)];
  const unique = new Set(all).size;
  fresh.signal('SIGKILL');
  await fresh.exited;
  await publisher.close();
  await queue.close();
  await redis.stop();
  return {
    failed: old.events.filter((e) => e.type === 'pool-error').length,
    jobsAdded: added,
    jobsLost: added - unique,
    jobsDuplicated: all.length - unique,
    exitMs,
    exit: exited.signal ? `killed (${exited.signal})` : `exit ${exited.code}`,
  };
}
