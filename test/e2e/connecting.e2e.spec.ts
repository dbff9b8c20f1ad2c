import { appProcesses, type AppProcess } from '../support/app-process.js';
import { startRabbitMq, type Broker } from '../support/brokers.js';
import { get, probe } from '../support/http.js';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';

/**
 * Issue 16: readiness means ready, the intake included. An application
 * whose worker or microservice server cannot reach its broker serves HTTP
 * (its probes answer) but is not ready, and not started, until the
 * connection is up; then it is, and the work flows. Real brokers, started
 * late on the port the application keeps trying.
 */
const apps = appProcesses();
const options = (o: object) => JSON.stringify(o);

/** The application listens, and its readiness says `starting`, waiting for `name`, probe after probe; not started either. */
async function expectConnecting(app: AppProcess, port: number, name: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    expect(await probe(port, '/health/ready')).toEqual({
      status: 503,
      graceful: { status: 'down', state: 'starting', deadlineExceeded: false, waitingFor: [name] },
    });
    expect((await probe(port, '/health/started')).status).toBe(503);
  }
  expect(app.events.some((e) => e.type === 'started')).toBe(false);
}

const states = (app: AppProcess) => app.events.filter((e) => e.type === 'state').map((e) => e.state);

/** The fixture with `intake`, its broker's address in `env`, the probe's details on and no readiness delay (plus `moduleOptions`). */
function startApp(intake: string, env: Record<string, string>, moduleOptions: object = {}) {
  return apps.start('connecting.app.js', { DETAILS: '1', INTAKE: intake, ...env, GRACEFUL_OPTIONS: options({ readinessDelayMs: 0, ...moduleOptions }) });
}

describe('readiness waits for the intake to be connected', () => {
  let redis: RedisServer | undefined;
  let rabbit: Broker | undefined;
  afterEach(async () => {
    await Promise.all([redis?.stop(), rabbit?.stop()]);
    redis = rabbit = undefined;
  });

  it('a BullMQ worker whose Redis is down: starting (the worker named) after listen(), then ready once Redis is up, and a job is processed', async () => {
    const redisPort = await freePort();
    const app = startApp('bullmq', { REDIS_PORT: String(redisPort) });
    const { port } = (await app.event('listening')) as unknown as { port: number };
    const name = 'BullMQ worker "emails" (EmailProcessor) connecting';
    await expectConnecting(app, port, name);

    redis = await startRedis(redisPort);
    await app.event('started');
    expect(await probe(port, '/health/ready')).toEqual({ status: 200, graceful: { status: 'up', state: 'ready', deadlineExceeded: false } });
    expect((await probe(port, '/health/started')).status).toBe(200);
    expect(app.events.find((e) => e.type === 'readiness-hold-end' && e.name === name)).toMatchObject({ outcome: 'ok' });
    expect(app.timeline.indexOf('readiness-hold-end')).toBeLessThan(app.timeline.indexOf('started'));

    expect((await get(port, '/enqueue?n=7')).body).toBe('queued');
    await app.event('job-done', { n: 7 });

    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(states(app)).toEqual(['starting', 'ready', 'draining', 'stopping', 'stopped']);
  });

  it('a legacy Bull queue whose Redis is down: starting (the queue named) after listen(), then ready once Redis is up, and a job is processed', async () => {
    const redisPort = await freePort();
    const app = startApp('bull', { REDIS_PORT: String(redisPort) });
    const { port } = (await app.event('listening')) as unknown as { port: number };
    const name = 'Bull queue "legacy" connecting';
    await expectConnecting(app, port, name);

    redis = await startRedis(redisPort);
    await app.event('started');
    expect((await probe(port, '/health/ready')).status).toBe(200);
    expect(app.events.find((e) => e.type === 'readiness-hold-end' && e.name === name)).toMatchObject({ outcome: 'ok' });
    expect((await get(port, '/enqueue?n=8')).body).toBe('queued');
    await app.event('job-done', { n: 8 });

    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM while a worker connects: the shutdown runs from starting and exits 0; the application never reports started', async () => {
    const redisPort = await freePort();
    const app = startApp('bullmq', { REDIS_PORT: String(redisPort) });
    const { port } = (await app.event('listening')) as unknown as { port: number };
    await expectConnecting(app, port, 'BullMQ worker "emails" (EmailProcessor) connecting');
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(states(app)).toEqual(['starting', 'draining', 'stopping', 'stopped']);
    expect(app.events.some((e) => e.type === 'started' || e.type === 'readiness-hold-end')).toBe(false);
  });

  it('startupTimeoutMs names a worker still connecting and fails the startup (exit 1)', async () => {
    const redisPort = await freePort();
    const app = startApp('bullmq', { REDIS_PORT: String(redisPort) }, { startupTimeoutMs: 1500 });
    await app.event('listening');
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toMatch(/startupTimeoutMs \(1500 ms\); still running: BullMQ worker "emails" \(EmailProcessor\) connecting, running [\d.]+ s/);
    expect(states(app)).toEqual(['starting', 'failed', 'stopped']);
  });

  it('readinessWaitsForIntake: false: ready once the application serves, the worker still connecting; SIGTERM then exits 0', async () => {
    const redisPort = await freePort();
    const app = startApp('bullmq', { REDIS_PORT: String(redisPort) }, { readinessWaitsForIntake: false });
    const { port } = (await app.event('listening')) as unknown as { port: number };
    await app.event('started');
    expect((await probe(port, '/health/ready')).status).toBe(200);
    expect(app.events.some((e) => e.type === 'readiness-hold-end')).toBe(false);

    // A worker that never connected took nothing: it closes at once (BullMQ's graceful close would wait for Redis until the deadline, exit 124).
    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
  });

  it('a hybrid application whose RabbitMQ is down: starting (the server named) after listen(), then ready once the broker is up, and a message is answered', async () => {
    const rabbitPort = await freePort();
    const url = `amqp://guest:guest@127.0.0.1:${rabbitPort}`;
    const app = startApp('rmq', { BROKER_URL: url });
    const { port } = (await app.event('listening')) as unknown as { port: number };
    const name = 'RabbitMQ microservice connecting';
    await expectConnecting(app, port, name);

    rabbit = await startRabbitMq(rabbitPort);
    await app.event('started');
    expect(await probe(port, '/health/ready')).toEqual({ status: 200, graceful: { status: 'up', state: 'ready', deadlineExceeded: false } });
    expect(app.events.find((e) => e.type === 'readiness-hold-end' && e.name === name)).toMatchObject({ outcome: 'ok' });
    await app.event('microservices-started');

    const answer = await get(port, '/ask?n=21');
    expect(answer).toMatchObject({ status: 200, body: '42' });

    app.signal('SIGTERM');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(states(app)).toEqual(['starting', 'ready', 'draining', 'stopping', 'stopped']);
  });
});
