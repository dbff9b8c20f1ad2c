import { resolveGracefulOptions } from '../../lib/options/graceful-options.resolver.js';

describe('resolveGracefulOptions', () => {
  it('applies every default once', () => {
    expect(resolveGracefulOptions({}, {})).toEqual({
      hookTimeoutMs: 10_000,
      shutdownTimeoutMs: 25_000,
      signals: ['SIGTERM', 'SIGINT'],
      strict: false,
      readinessDelayMs: 0,
      drainTimeoutMs: 10_000,
      gracePeriodMs: undefined,
      logger: undefined,
      logPlan: undefined,
      reportFile: undefined,
      handleFatalErrors: true,
      finalTimeoutMs: 1000,
      intake: { sse: true, websockets: true, microservices: true, bullmq: true, schedule: true },
    });
  });

  it('waits 5 s for load balancers by default when running in Kubernetes', () => {
    expect(resolveGracefulOptions({}, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }).readinessDelayMs).toBe(5000);
    expect(resolveGracefulOptions({ readinessDelayMs: 0 }, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }).readinessDelayMs).toBe(0);
  });

  it('normalizes signal names and drops repeats', () => {
    expect(resolveGracefulOptions({ signals: ['sigterm', ' SIGUSR2', 'SIGTERM'] }, {}).signals).toEqual(['SIGTERM', 'SIGUSR2']);
  });

  it.each([
    [{ readinessDelayMs: -5 }, 'option "readinessDelayMs" is -5; it must be a finite number of milliseconds of 0 or more'],
    [{ drainTimeoutMs: Number.NaN }, 'option "drainTimeoutMs" is NaN'],
    [{ shutdownTimeoutMs: 0 }, 'option "shutdownTimeoutMs" is 0; it must be a finite number of milliseconds above 0'],
    [{ hookTimeoutMs: 2 ** 31 }, 'option "hookTimeoutMs" is 2147483648'],
    [{ signals: 'SIGTERM' }, 'option "signals" is "SIGTERM"; it must be an array'],
    [{ signals: ['SIGKILL'] }, 'option "signals" names "SIGKILL"'],
    [{ strict: 'yes' }, 'option "strict" is "yes"; it must be true or false'],
    [{ logger: console.log }, 'option "logger"'],
    [{ reportFile: '' }, 'option "reportFile" is ""; it must be a file path'],
    [{ handleFatalErrors: 1 }, 'option "handleFatalErrors" is 1; it must be true or false'],
    [{ finalTimeoutMs: -1 }, 'option "finalTimeoutMs" is -1'],
  ])('rejects %j', (options, message) => {
    expect(() => resolveGracefulOptions(options as never, {})).toThrow(message);
  });
});
