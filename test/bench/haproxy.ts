/**
 * A rolling restart through a real HAProxy: three instances of the sample
 * behind it (health checks on /health/ready every 200 ms, one failed check
 * marks a server down, no retries), autocannon with keep-alive connections
 * through it; one instance gets SIGTERM under load. Counts what the clients
 * saw fail, and how long the old instance took from SIGTERM to exit.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess, SAMPLE } from '../support/app-process.js';

export type HaproxyMode = 'plain' | 'fixed' | 'measured';

export interface HaproxyRun {
  requests: number;
  failed: number;
  /** From SIGTERM to the old instance's exit. */
  exitMs: number;
  /** The old instance's readiness delay, as its report gave it (graceful modes). */
  delay?: string;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

function config(front: number, backends: number[]): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  retries 0',
    'frontend web',
    `  bind 127.0.0.1:${front}`,
    '  default_backend app',
    'backend app',
    '  balance roundrobin',
    '  option httpchk GET /health/ready',
    '  http-check expect status 200',
    ...backends.map((port, i) => `  server app${i} 127.0.0.1:${port} check inter 200 fall 1 rise 1`),
    '',
  ].join('\n');
}

/** The sample's environment for each mode: plain Nest with terminus' sleep, the module with a fixed delay, the module measuring. */
function sampleEnv(mode: HaproxyMode, fixedMs: number): Record<string, string> {
  if (mode === 'plain') return { PORT: '0', SAMPLE_MODE: 'plain', READINESS_DELAY_MS: String(fixedMs) };
  const base = { PORT: '0', SAMPLE_MODE: 'graceful' };
  // Fixed: the bound and the floor are the same. Measured: the defaults (up to 5 s, ends when quiet).
  return mode === 'fixed' ? { ...base, READINESS_DELAY_MS: String(fixedMs), READINESS_MIN_DELAY_MS: String(fixedMs) } : base;
}

export async function haproxyRestart(mode: HaproxyMode, { connections = 64, steadyMs = 2000, fixedMs = 1500 } = {}): Promise<HaproxyRun> {
  const env = sampleEnv(mode, fixedMs);
  const instances = [new AppProcess(SAMPLE, env), new AppProcess(SAMPLE, env), new AppProcess(SAMPLE, env)];
  let haproxy: ChildProcess | undefined;
  try {
    const ports = await Promise.all(instances.map((instance) => instance.port()));
    const front = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
    writeFileSync(join(dir, 'haproxy.cfg'), config(front, ports));
    haproxy = spawn('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
    await waitForFront(front);
    // With a callback autocannon hands back its running instance, to follow each response and stop it.
    const load = autocannon({ url: `http://127.0.0.1:${front}/orders`, connections, duration: 3600 }, () => undefined);
    let requests = 0;
    let failed = 0;
    load.on('response', (_client: unknown, status: number) => {
      requests++;
      if (status >= 400) failed++;
    });
    load.on('reqError', () => failed++);
    await new Promise((resolve) => setTimeout(resolve, steadyMs));
    const [old] = instances;
    const signalled = performance.now();
    old.signal('SIGTERM');
    await old.exited;
    const exitMs = performance.now() - signalled;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    load.stop();
    await new Promise((resolve) => load.once('done', resolve));
    const delay = /Readiness delay (ended[^.]*|cut[^.]*)\./.exec(old.output)?.[1];
    return { requests, failed, exitMs, delay };
  } finally {
    haproxy?.kill('SIGKILL');
    for (const instance of instances) instance.dispose();
  }
}

async function waitForFront(port: number): Promise<void> {
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
