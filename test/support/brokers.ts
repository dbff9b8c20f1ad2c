/**
 * Real brokers on 127.0.0.1 and free ports, started by the tests themselves
 * (`npm test` installs them from Debian's packages when missing): RabbitMQ
 * with an epmd of its own, NATS, mosquitto. Each resolves once the server
 * says it accepts connections, and `stop()` kills its whole process group.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis.js';

export interface Broker {
  port: number;
  /** The broker's URL for Nest's transport options. */
  url: string;
  stop(): Promise<void>;
}

interface Launch {
  name: string;
  debian: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Printed (stdout or stderr) once it accepts connections. */
  ready: RegExp;
  cleanup?: () => void;
}

/** Starts `launch` in a process group of its own; resolves once it is ready. */
export async function startServer(launch: Launch): Promise<{ stop(): Promise<void> }> {
  const child = spawn(launch.command, launch.args, { env: { ...process.env, ...launch.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error) =>
      reject(new Error(`Could not start ${launch.name} (${error.message}): install it, e.g. \`apt-get install ${launch.debian}\` (npm test does so as root).`)),
    );
    void exited.then(() => reject(new Error(`${launch.name} exited before it was ready:\n${output}`)));
    const read = (chunk: string) => {
      output += chunk;
      if (launch.ready.test(output)) resolve();
    };
    child.stdout.setEncoding('utf8').on('data', read);
    child.stderr.setEncoding('utf8').on('data', read);
  });
  return {
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Gone already.
        }
        await exited;
      }
      launch.cleanup?.();
    },
  };
}

export async function startNats(): Promise<Broker> {
  const port = await freePort();
  const server = await startServer({
    name: 'nats-server',
    debian: 'nats-server',
    command: 'nats-server',
    args: ['-a', '127.0.0.1', '-p', String(port)],
    ready: /Server is ready/,
  });
  return { port, url: `nats://127.0.0.1:${port}`, stop: server.stop };
}

export async function startMosquitto(): Promise<Broker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'graceful-mqtt-'));
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const server = await startServer({
    name: 'mosquitto',
    debian: 'mosquitto',
    command: 'mosquitto',
    args: ['-c', config, '-v'],
    ready: / running/,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
  return { port, url: `mqtt://127.0.0.1:${port}`, stop: server.stop };
}

/**
 * RabbitMQ in the foreground with a node name, ports, data and logs of its
 * own, and an epmd of its own on loopback (it must not meet a system one).
 * Ready in 5 to 10 s.
 */
const RABBITMQ_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server';

/** On `port` when given (an application may be waiting for it there), else a free one. */
export async function startRabbitMq(port?: number): Promise<Broker> {
  const [nodePort, distPort, epmdPort] = await Promise.all([port ?? freePort(), freePort(), freePort()]);
  port = nodePort;
  const dir = mkdtempSync(join(tmpdir(), 'graceful-rmq-'));
  const epmd = await startServer({
    name: 'epmd',
    debian: 'erlang-base',
    command: 'epmd',
    args: ['-port', String(epmdPort), '-address', '127.0.0.1', '-d'],
    ready: /epmd running/,
  });
  let server: { stop(): Promise<void> };
  try {
    server = await startServer({
      name: 'rabbitmq-server',
      debian: 'rabbitmq-server',
      // The script itself, not /usr/sbin's wrapper, which switches to the rabbitmq user (who cannot write the test's folder).
      command: existsSync(RABBITMQ_SCRIPT) ? RABBITMQ_SCRIPT : 'rabbitmq-server',
      args: [],
      env: {
        ERL_EPMD_PORT: String(epmdPort),
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(distPort),
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODENAME: `graceful${port}@localhost`,
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_CONFIG_FILE: join(dir, 'none'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'plugins'),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-start_epmd false',
        // A crash dump goes to the test's folder, not the working directory.
        ERL_CRASH_DUMP: join(dir, 'erl_crash.dump'),
      },
      ready: /Server startup complete|Starting broker\.\.\. completed/,
    });
  } catch (error) {
    await epmd.stop();
    throw error;
  }
  return {
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    stop: async () => {
      await server.stop();
      await epmd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
