import { Agent } from 'node:http';
import { appProcesses } from '../support/app-process.js';
import { h2Get, h2Session } from '../support/h2.js';
import { get } from '../support/http.js';

const apps = appProcesses();
const options = (o: object) => JSON.stringify(o);
const start = (env: Record<string, string>) => apps.start('http.app.js', { ...env, GRACEFUL_OPTIONS: options({ readinessDelayMs: 0, drainTimeoutMs: 60000 }) });

describe.each(['express', 'fastify'])('keep-alive reuse during the drain on %s', (platform) => {
  it('serves, with Connection: close, a request queued on a connection whose response was streaming at the signal', async () => {
    const app = start({ PLATFORM: platform });
    const port = await app.port();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const streamed = get(port, '/stream', agent);
    await app.event('streaming'); // its headers went out before the signal, keep-alive
    const next = get(port, '/ping', agent); // queued on the same connection
    app.signal('SIGTERM');
    await app.printed('Stopped accepting connections; 1 request(s) in flight');
    app.send('release');
    const first = await streamed;
    expect(first).toMatchObject({ status: 200, body: 'first\nlast\n' });
    const second = await next;
    expect(second).toMatchObject({ status: 200, body: 'pong' });
    expect(second.headers.connection).toBe('close');
    expect(second.socket).toBe(first.socket);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.output).toContain('Drained: 2 request(s) completed');
    agent.destroy();
  });
});

describe.each(['express', 'fastify'])('HTTPS on %s', (platform) => {
  it('counts the busy TLS connection as busy, lets its request finish, then runs the hooks', async () => {
    const app = start({ PLATFORM: platform, PROTOCOL: 'https' });
    const port = await app.port();
    const held = get(port, '/hold', undefined, { tls: true });
    await app.event('held');
    app.signal('SIGTERM');
    await app.printed('Stopped accepting connections; 1 request(s) in flight');
    app.send('release');
    expect(await held).toMatchObject({ status: 200, body: 'held 1' });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.output).toContain('Drained: 1 request(s) completed, 0 idle connection(s) closed');
    expect(app.timeline.indexOf('response-finished')).toBeLessThan(app.timeline.indexOf('hook-start:Resource.close'));
  });
});

describe.each([
  ['h2c', false],
  ['h2', true],
])('HTTP/2 (%s) on fastify', (protocol, secure) => {
  it('sends GOAWAY, lets the stream in flight finish, runs the hooks and exits 0', async () => {
    const app = start({ PLATFORM: 'fastify', PROTOCOL: protocol });
    const port = await app.port();
    const session = h2Session(port, secure);
    const goaway = new Promise((resolve) => session.once('goaway', resolve));
    const held = h2Get(session, '/hold');
    await app.event('held');
    app.signal('SIGTERM');
    await app.printed('Stopped accepting connections; 1 request(s) in flight');
    await goaway;
    app.send('release');
    expect(await held).toEqual({ status: 200, body: 'held 1' });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(app.timeline).toContain('hook-end:Resource.close');
    expect(app.timeline.indexOf('response-finished')).toBeLessThan(app.timeline.indexOf('hook-start:Resource.close'));
    session.close();
  });
});
