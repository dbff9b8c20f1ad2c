import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { Transport } from '@nestjs/microservices';
import fc from 'fast-check';
import { canWatchRpcTargets, microserviceCount } from '../../lib/adapter/nest.adapter.js';
import { delayEnd } from '../../lib/drain/traffic.watch.js';
import { launcherProblem, microservicesUnseenProblem, terminusMajorProblem } from '../../lib/shutdown/startup.diagnostics.js';

describe('delayEnd (when the measured readiness delay ends)', () => {
  const rule = { boundMs: 5000, floorMs: 0, quietMs: 1000 };

  it('waits for its bound while no readiness probe has answered down', () => {
    expect(delayEnd(rule, 0, { lastTrafficAt: 0, probes: 0, requests: 0 })).toEqual({ at: 5000, by: 'bound' });
  });

  it('ends a quiet period after the last request once a probe saw it down', () => {
    expect(delayEnd(rule, 0, { probeDownAt: 200, lastTrafficAt: 700, probes: 3, requests: 9 })).toEqual({ at: 1700, by: 'quiet' });
    expect(delayEnd(rule, 0, { probeDownAt: 2500, lastTrafficAt: 700, probes: 3, requests: 9 })).toEqual({ at: 2500, by: 'quiet' });
  });

  it('never before the floor, never after the bound', () => {
    expect(delayEnd({ ...rule, floorMs: 3000 }, 0, { probeDownAt: 100, lastTrafficAt: 0, probes: 1, requests: 1 })).toEqual({ at: 3000, by: 'quiet' });
    expect(delayEnd(rule, 0, { probeDownAt: 100, lastTrafficAt: 4500, probes: 1, requests: 50 })).toEqual({ at: 5000, by: 'bound' });
  });

  it('whatever it saw: within [floor, bound], and a quiet end leaves the quiet period after the last request', () => {
    fc.assert(
      fc.property(
        fc.record({ boundMs: fc.nat(20_000), floorMs: fc.nat(20_000), quietMs: fc.nat(5000) }),
        fc.option(fc.nat(20_000), { nil: undefined }),
        fc.nat(20_000),
        (r, probeDownAt, lastTrafficAt) => {
          const rule = { ...r, floorMs: Math.min(r.floorMs, r.boundMs) };
          const end = delayEnd(rule, 0, { probeDownAt, lastTrafficAt, probes: 0, requests: 0 });
          expect(end.at).toBeLessThanOrEqual(rule.boundMs);
          expect(end.at).toBeGreaterThanOrEqual(rule.floorMs);
          if (end.by === 'quiet') {
            expect(probeDownAt).toBeDefined();
            expect(end.at).toBeGreaterThanOrEqual(lastTrafficAt + rule.quietMs);
            expect(end.at).toBeGreaterThanOrEqual(probeDownAt!);
          }
        },
      ),
    );
  });
});

describe('launcherProblem (npm, yarn, pnpm or a shell between the container and Node)', () => {
  it('names the package manager that ran a script in a container', () => {
    expect(
      launcherProblem({ platform: 'kubernetes', script: 'start', userAgent: 'npm/11.6.2 node/v20.20.2 linux x64', parent: ['sh', '-c', 'node dist/main.js'] }),
    ).toContain('Started through npm (script "start") inside a container');
    expect(launcherProblem({ platform: 'docker', script: 'start:prod', userAgent: 'yarn/1.22.22 npm/? node/v20.20.2' })).toContain('Started through yarn');
    expect(launcherProblem({ platform: 'ecs', parent: ['node', '/usr/local/lib/node_modules/pnpm/bin/pnpm.cjs', 'start'] })).toContain('Started through pnpm');
  });

  it('names a shell that stays in between', () => {
    expect(launcherProblem({ platform: 'cloud-run', parent: ['/bin/sh', '-c', 'node dist/main.js; echo done'] })).toContain('Started by a shell (sh)');
  });

  it('stays silent outside containers, and for Node started directly or behind an init', () => {
    expect(launcherProblem({ platform: 'none', script: 'start', userAgent: 'npm/11.6.2' })).toBeUndefined();
    expect(launcherProblem({ platform: 'pm2', script: 'start', userAgent: 'npm/11.6.2' })).toBeUndefined();
    expect(launcherProblem({ platform: 'kubernetes', parent: ['/sbin/tini', '--', 'node', 'dist/main.js'] })).toBeUndefined();
    expect(launcherProblem({ platform: 'kubernetes', parent: ['/usr/bin/containerd-shim-runc-v2'] })).toBeUndefined();
    expect(launcherProblem({ platform: 'docker', script: 'test', userAgent: 'npm/11.6.2', testRun: true })).toBeUndefined();
  });
});

describe('terminusMajorProblem (@nestjs/terminus of another major than @nestjs/core)', () => {
  it('names both versions and the install to run, per direction', () => {
    expect(terminusMajorProblem('11.2.10', '12.1.0')).toContain('ES module only');
    expect(terminusMajorProblem('11.2.10', '12.1.0')).toContain('npm install @nestjs/terminus@11');
    expect(terminusMajorProblem('12.5.1', '11.1.1')).toContain('npm install @nestjs/terminus@12');
  });

  it('says nothing when the majors match or a version is unknown', () => {
    expect(terminusMajorProblem('12.5.1', '12.0.0')).toBeUndefined();
    expect(terminusMajorProblem('11.0.1', '11.1.1')).toBeUndefined();
    expect(terminusMajorProblem(undefined, '12.1.0')).toBeUndefined();
    expect(terminusMajorProblem('12.5.1', undefined)).toBeUndefined();
  });
});

describe('microservicesUnseenProblem (a @nestjs/core older than 11.1.4 keeps no registry of its microservice servers)', () => {
  it('warns, naming the count, the version and the option, only when servers run that the drain cannot see', () => {
    const problem = microservicesUnseenProblem({ drained: true, registry: false, servers: 2 });
    expect(problem).toContain('2 microservice server(s)');
    expect(problem).toContain('11.1.4');
    expect(problem).toContain('intake: { microservices: false }');
    expect(microservicesUnseenProblem({ drained: true, registry: true, servers: 2 })).toBeUndefined();
    expect(microservicesUnseenProblem({ drained: false, registry: false, servers: 2 })).toBeUndefined();
    expect(microservicesUnseenProblem({ drained: true, registry: false, servers: 0 })).toBeUndefined();
  });

  it('reads its facts from Nest: the installed container has the registry, an older one does not; servers of a hybrid and a standalone microservice are counted', async () => {
    expect(canWatchRpcTargets(new ModulesContainer())).toBe(true);
    // A container as @nestjs/core 11.0 to 11.1.3 builds it: a Map of modules with neither addRpcTarget nor getRpcTargetRegistry.
    expect(canWatchRpcTargets(new Map() as unknown as ModulesContainer)).toBe(false);
    @Module({})
    class EmptyModule {}
    const app = await NestFactory.create(EmptyModule, { logger: false });
    const standalone = await NestFactory.createMicroservice(EmptyModule, { transport: Transport.TCP, logger: false });
    try {
      expect(microserviceCount(app)).toBe(0);
      app.connectMicroservice({ transport: Transport.TCP, options: { port: 0 } });
      app.connectMicroservice({ transport: Transport.TCP, options: { port: 0 } });
      expect(microserviceCount(app)).toBe(2);
      expect(microserviceCount(standalone)).toBe(1);
    } finally {
      await app.close();
      await standalone.close();
    }
  });
});
