import { Agent } from 'node:http';
import { appProcesses } from '../support/app-process.js';
import { get } from '../support/http.js';

const apps = appProcesses();
const options = (o: object) => JSON.stringify(o);

describe.each(['express', 'fastify'])('drain before teardown on %s', (platform) => {
  const start = (graceful: object) => apps.start('http.app.js', { PLATFORM: platform, GRACEFUL_OPTIONS: options(graceful) });

  it('fails readiness at once while liveness and every other route keep serving through the delay', async () => {
    const app = start({ readinessDelayMs: 3000 });
    const port = await app.port();
    expect((await get(port, '/health/ready')).status).toBe(200);
    app.signal('SIGTERM');
    await app.printed('Readiness reports down');
    const ready = await get(port, '/health/ready');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).error).toEqual({ graceful: { status: 'down', state: 'draining' } });
    const live = await get(port, '/health/live');
    expect(live.status).toBe(200);
    expect(JSON.parse(live.body).info).toEqual({ graceful: { status: 'up', state: 'draining' } });
    const during = await get(port, '/ping');
    expect(during).toMatchObject({ status: 200, body: 'pong' });
    expect(during.headers.connection).toBe('close'); // keep-alive clients reconnect elsewhere
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.events.filter((e) => e.type === 'state').map((e) => e.state)).toEqual(['starting', 'ready', 'draining', 'stopping', 'stopped']);
  });

  it('stops accepting, lets the request in flight finish with 200 and Connection: close, and only then runs the hooks', async () => {
    const app = start({ readinessDelayMs: 0, drainTimeoutMs: 60000 });
    const port = await app.port();
    const held = get(port, '/hold');
    await app.event('held');
    app.signal('SIGTERM');
    await app.printed('Stopped accepting connections; 1 request(s) in flight');
    await expect(get(port, '/ping')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    app.send('release');
    const response = await held;
    expect(response).toMatchObject({ status: 200, body: 'held 1' });
    expect(response.headers.connection).toBe('close');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const timeline = app.timeline;
    expect(timeline.indexOf('response-finished')).toBeLessThan(timeline.indexOf('hook-start:Resource.close'));
    expect(timeline.indexOf('hook-end:Resource.close')).toBeLessThan(timeline.indexOf('nest-destroy:Resource'));
    expect(app.output).toContain('Drained: 1 request(s) completed');
  });

  it('closes idle keep-alive connections at once, so they do not hold the process', async () => {
    const app = start({ readinessDelayMs: 0, drainTimeoutMs: 600000 });
    const port = await app.port();
    const agent = new Agent({ keepAlive: true });
    const idle = await Promise.all([get(port, '/ping', agent), get(port, '/ping', agent)]);
    const closed = idle.map(({ socket }) => new Promise((resolve) => socket.once('close', resolve)));
    app.signal('SIGTERM');
    await Promise.all(closed);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.output).toContain('2 idle connection(s) closed');
    agent.destroy();
  });

  it('waits for work registered with track() before the hooks', async () => {
    const app = start({ readinessDelayMs: 0, drainTimeoutMs: 60000 });
    const port = await app.port();
    await get(port, '/track');
    app.signal('SIGTERM');
    await app.printed('Stopped accepting connections');
    app.send('release');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline.indexOf('work-done')).toBeLessThan(app.timeline.indexOf('hook-start:Resource.close'));
  });

  it('cuts what is still in flight at drainTimeoutMs, says how many, runs the hooks, and exits 1', async () => {
    const app = start({ readinessDelayMs: 0, drainTimeoutMs: 300 });
    const port = await app.port();
    const held = get(port, '/hold');
    await app.event('held');
    app.signal('SIGTERM');
    await expect(held).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|socket hang up/) });
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(app.output).toContain('Drain timeout (300 ms) passed: cut 1 request(s) in flight.');
    expect(app.timeline).toContain('hook-end:Resource.close');
  });
});

describe('an application without an HTTP server', () => {
  it('is ready once started, skips the HTTP drain and still waits for tracked work', async () => {
    const app = apps.start('context.app.js', { GRACEFUL_OPTIONS: options({ drainTimeoutMs: 60000 }) });
    await app.event('work-tracked');
    await app.event('state', { state: 'ready' });
    app.signal('SIGTERM');
    await app.event('state', { state: 'draining' });
    app.send('go');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline.indexOf('work-done')).toBeLessThan(app.timeline.indexOf('hook-start:Worker.stop'));
    expect(app.events.filter((e) => e.type === 'state').map((e) => e.state)).toEqual(['starting', 'ready', 'draining', 'stopping', 'stopped']);
  });
});
