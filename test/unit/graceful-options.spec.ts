import { budgetProblems, resolveGracefulOptions } from '../../lib/options/graceful-options.resolver.js';

/** An environment as the resolver sees it: variables, the files that exist, and whether a parent listens on IPC. */
const environment = (env: Record<string, string> = {}, files: string[] = [], hasIpc = false) => ({
  env,
  exists: (path: string) => files.includes(path),
  hasIpc,
});
const bare = environment();

describe('resolveGracefulOptions', () => {
  it('applies every default once', () => {
    expect(resolveGracefulOptions({}, bare)).toEqual({
      hookTimeoutMs: 10_000,
      shutdownTimeoutMs: 25_000,
      signals: ['SIGTERM', 'SIGINT'],
      traceHandles: false,
      strict: false,
      readinessDelayMs: 5000,
      readinessDelayIfProbed: true,
      readinessMinDelayMs: 0,
      readinessQuietMs: 1000,
      drainTimeoutMs: 10_000,
      gracePeriodMs: undefined,
      preStopMs: 0,
      platform: expect.objectContaining({ name: 'none' }),
      defaultsFrom: {},
      logger: undefined,
      logPlan: undefined,
      reportFile: undefined,
      handleFatalErrors: true,
      finalTimeoutMs: 1000,
      readinessWaitsForIntake: true,
      intake: { sse: true, websockets: true, microservices: true, bullmq: true, bull: true, schedule: true },
    });
  });

  const budget = (options: object, env: ReturnType<typeof environment>) => {
    const r = resolveGracefulOptions(options, env);
    return {
      platform: r.platform.name,
      gracePeriodMs: r.gracePeriodMs,
      shutdownTimeoutMs: r.shutdownTimeoutMs,
      drainTimeoutMs: r.drainTimeoutMs,
      readinessDelayMs: r.readinessDelayMs,
      readinessMinDelayMs: r.readinessMinDelayMs,
      readinessDelayIfProbed: r.readinessDelayIfProbed,
    };
  };

  it.each([
    ['Kubernetes', environment({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }), ['kubernetes', 30_000, 25_000, 10_000, 5000, 3000, false]],
    ['Cloud Run', environment({ K_SERVICE: 'api', K_REVISION: 'api-00042' }), ['cloud-run', 10_000, 9000, 3600, 0, 0, false]],
    ['ECS', environment({ ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' }), ['ecs', 30_000, 25_000, 10_000, 0, 0, false]],
    [
      'ECS with a stop timeout',
      environment({ ECS_CONTAINER_METADATA_URI_V4: 'http://x', ECS_CONTAINER_STOP_TIMEOUT: '2m' }),
      ['ecs', 120_000, 25_000, 10_000, 0, 0, false],
    ],
    ['Docker', environment({}, ['/.dockerenv']), ['docker', 10_000, 9000, 3600, 3600, 0, true]],
    ['PM2', environment({ pm_id: '0' }, [], true), ['pm2', 1600, 1200, 480, 480, 0, true]],
    [
      'PM2 with kill_timeout, inside Docker',
      environment({ pm_id: '3', kill_timeout: '8000' }, ['/.dockerenv'], true),
      ['pm2', 8000, 7000, 2800, 2800, 0, true],
    ],
    ['no platform', bare, ['none', undefined, 25_000, 10_000, 5000, 0, true]],
  ])('takes the defaults of %s from its environment', (_name, env, expected) => {
    const [platform, gracePeriodMs, shutdownTimeoutMs, drainTimeoutMs, readinessDelayMs, readinessMinDelayMs, readinessDelayIfProbed] = expected;
    expect(budget({}, env)).toEqual({
      platform,
      gracePeriodMs,
      shutdownTimeoutMs,
      drainTimeoutMs,
      readinessDelayMs,
      readinessMinDelayMs,
      readinessDelayIfProbed,
    });
  });

  it('leaves what the user set alone, and `platform` forces a profile or none', () => {
    const k8s = environment({ KUBERNETES_SERVICE_HOST: '10.0.0.1' });
    expect(budget({ readinessDelayMs: 0 }, k8s)).toMatchObject({ readinessDelayMs: 0, readinessMinDelayMs: 0, readinessDelayIfProbed: false });
    expect(budget({ readinessDelayMs: 1500 }, k8s)).toMatchObject({ readinessDelayMs: 1500, readinessMinDelayMs: 1500 });
    expect(budget({ platform: 'none' }, k8s)).toMatchObject({ platform: 'none', gracePeriodMs: undefined, shutdownTimeoutMs: 25_000 });
    expect(budget({ platform: 'cloud-run' }, bare)).toMatchObject({ platform: 'cloud-run', gracePeriodMs: 10_000, readinessDelayMs: 0 });
    expect(budget({ gracePeriodMs: 60_000 }, k8s)).toMatchObject({ gracePeriodMs: 60_000, shutdownTimeoutMs: 25_000 });
    expect(budget({ gracePeriodMs: 12_000 }, bare)).toMatchObject({ gracePeriodMs: 12_000, shutdownTimeoutMs: 11_000 });
    expect(resolveGracefulOptions({}, k8s).defaultsFrom).toEqual({
      gracePeriodMs: 'Kubernetes',
      shutdownTimeoutMs: 'Kubernetes',
      readinessDelayMs: 'Kubernetes',
      readinessMinDelayMs: 'Kubernetes',
    });
  });

  it('takes a preStop hook out of the deadline and the delay, and checks it against the grace period', () => {
    const k8s = environment({ KUBERNETES_SERVICE_HOST: '10.0.0.1' });
    expect(budget({ preStopMs: 5000 }, k8s)).toMatchObject({ shutdownTimeoutMs: 20_000, readinessDelayMs: 0, readinessMinDelayMs: 0 });
    expect(budget({ preStopMs: 2000 }, k8s)).toMatchObject({ shutdownTimeoutMs: 23_000, readinessDelayMs: 3000, readinessMinDelayMs: 1000 });
    expect(budgetProblems(resolveGracefulOptions({ preStopMs: 5000 }, k8s))).toEqual([]);
    const [problem] = budgetProblems(resolveGracefulOptions({ preStopMs: 10_000, shutdownTimeoutMs: 25_000 }, k8s));
    expect(problem).toContain('preStopMs (10000) + shutdownTimeoutMs (25000) does not fit inside the grace period of 30000 ms');
    expect(problem).toContain("Kubernetes's default; set gracePeriodMs if yours differs");
  });

  it('every profile default passes its own budget check', () => {
    for (const env of [
      environment({ KUBERNETES_SERVICE_HOST: 'x' }),
      environment({ K_SERVICE: 'a', K_REVISION: 'b' }),
      environment({ ECS_CONTAINER_METADATA_URI_V4: 'x' }),
      environment({}, ['/.dockerenv']),
      environment({ pm_id: '0' }, [], true),
      bare,
    ]) {
      expect(budgetProblems(resolveGracefulOptions({}, env))).toEqual([]);
    }
  });

  it('normalizes signal names and drops repeats', () => {
    expect(resolveGracefulOptions({ signals: ['sigterm', ' SIGUSR2', 'SIGTERM'] }, bare).signals).toEqual(['SIGTERM', 'SIGUSR2']);
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
    [{ readinessWaitsForIntake: 'no' }, 'option "readinessWaitsForIntake" is "no"; it must be true or false'],
    [{ finalTimeoutMs: -1 }, 'option "finalTimeoutMs" is -1'],
    [{ platform: 'heroku' }, `option "platform" is "heroku"; it must be one of 'kubernetes', 'cloud-run', 'ecs', 'docker', 'pm2', 'none'`],
    [{ preStopMs: -1 }, 'option "preStopMs" is -1'],
    [{ readinessQuietMs: 'soon' }, 'option "readinessQuietMs" is "soon"'],
    [{ readinessDelayMs: 1000, readinessMinDelayMs: 2000 }, 'option "readinessMinDelayMs" is 2000; it must be at most readinessDelayMs (1000)'],
  ])('rejects %j', (options, message) => {
    expect(() => resolveGracefulOptions(options as never, bare)).toThrow(message);
  });
});
