import { rollingRestart } from '../support/rolling-restart.js';

describe.each(['express', 'fastify'] as const)('rolling restart of the sample on %s', (platform) => {
  it('loses no request: SIGTERM to one of two instances behind a balancer under keep-alive load', async () => {
    const result = await rollingRestart({ platform, mode: 'graceful', clients: 32 });
    expect(result.failures).toEqual({});
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThanOrEqual(600);
    expect(result.exit).toEqual({ code: 0, signal: null });
  });
});
