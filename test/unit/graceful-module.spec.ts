import 'reflect-metadata';
import { Global, Injectable, Module, Scope, type LoggerService } from '@nestjs/common';
import { LazyModuleLoader } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  GracefulHealthIndicator,
  GracefulLifecycleService,
  GracefulModule,
  OnShutdown,
  type GracefulModuleOptions,
  type ShutdownContext,
} from 'nestjs-graceful';

/** A logger that keeps what it is told, to assert on warnings. */
class MemoryLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: string) {
    this.lines.push(`log ${message}`);
  }
  warn(message: string) {
    this.lines.push(`warn ${message}`);
  }
  error(message: string) {
    this.lines.push(`error ${message}`);
  }
  debug() {}
}

const calls: string[] = [];

@Injectable()
class Db {
  aborted?: unknown;
  @OnShutdown({ timeout: 50 })
  async close({ signal }: ShutdownContext) {
    calls.push('Db.close');
    if (process.env.DB_HANGS_IN_TEST) {
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      this.aborted = signal.reason;
    }
  }
  onModuleDestroy() {
    calls.push('Db.onModuleDestroy');
  }
}

@Global()
@Module({ providers: [Db], exports: [Db] })
class DbModule {}

@Injectable()
class Repo {
  constructor(readonly db: Db) {}
}

@Injectable()
class Users {
  constructor(readonly repo: Repo) {}
  @OnShutdown()
  stop(context: ShutdownContext) {
    calls.push(`Users.stop:${context.reason}`);
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerRequest {
  @OnShutdown()
  stop() {
    calls.push('PerRequest.stop');
  }
}

@Module({ providers: [Repo, Users, PerRequest] })
class UsersModule {}

@Injectable()
class Flusher {
  @OnShutdown({ final: true })
  flush() {
    calls.push('Flusher.flush');
  }
}

@Module({ providers: [Flusher] })
class FlushModule {}

@Injectable()
class LoadedLater {
  @OnShutdown()
  stop() {
    calls.push('LoadedLater.stop');
  }
}

@Module({ providers: [LoadedLater] })
class LazyModule {}

async function compile(options: GracefulModuleOptions = {}) {
  const logger = new MemoryLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [GracefulModule.forRoot({ signals: [], logger, ...options }), DbModule, UsersModule],
  }).compile();
  return { moduleRef, logger, lifecycle: moduleRef.get(GracefulLifecycleService) };
}

beforeEach(() => {
  calls.length = 0;
  delete process.env.DB_HANGS_IN_TEST;
});

describe('GracefulModule in a testing module', () => {
  it('plans Users before Db, through a provider without hooks and across a global module', async () => {
    const { moduleRef, lifecycle } = await compile();
    await moduleRef.init();
    const [phase] = lifecycle.plan().phases;
    expect(phase.units.map((u) => [u.name, u.wave, u.hooks.map((h) => h.name)])).toEqual(
      [
        ['Db', 1, ['Db.close']],
        ['Users', 0, ['Users.stop']],
      ].sort((a, b) => (a[1] as number) - (b[1] as number)),
    );
    const db = phase.units.find((u) => u.name === 'Db')!;
    const users = phase.units.find((u) => u.name === 'Users')!;
    expect(db.after).toEqual([users.id]);
    expect(lifecycle.plan().worstCaseMs).toBe(10_000 + 50);
    await moduleRef.close();
  });

  it("app.close() runs the hooks, then Nest's own, records the report and does not exit the process", async () => {
    const { moduleRef, lifecycle } = await compile();
    await moduleRef.init();
    expect(lifecycle.state).toBe('ready');
    await moduleRef.close();
    expect(calls).toEqual(['Users.stop:close', 'Db.close', 'Db.onModuleDestroy']);
    expect(lifecycle.state).toBe('stopped');
    expect(lifecycle.isShuttingDown()).toBe(true);
    expect(lifecycle.lastReport).toMatchObject({ reason: 'close', exitCode: 0, deadlineExceeded: false });
    expect(lifecycle.lastReport!.hooks.map((h) => [h.name, h.outcome])).toEqual([
      ['Users.stop', 'ok'],
      ['Db.close', 'ok'],
    ]);
  });

  it('aborts a hook at its own timeout with a HookTimeoutError and reports it', async () => {
    process.env.DB_HANGS_IN_TEST = '1';
    const { moduleRef, lifecycle } = await compile();
    await moduleRef.init();
    await moduleRef.close();
    expect(moduleRef.get(Db).aborted).toMatchObject({ name: 'HookTimeoutError', message: 'Db.close exceeded its timeout of 50 ms' });
    expect(lifecycle.lastReport).toMatchObject({ exitCode: 1 });
    expect(lifecycle.lastReport!.hooks.find((h) => h.name === 'Db.close')).toMatchObject({
      outcome: 'timeout',
      error: 'Db.close exceeded its timeout of 50 ms',
    });
    expect(calls).toContain('Db.onModuleDestroy');
  });

  it('warns about, and skips, a hook on a request-scoped provider', async () => {
    const { moduleRef, logger } = await compile();
    await moduleRef.init();
    expect(logger.lines).toContain(
      'warn @OnShutdown() on PerRequest.stop is skipped: request-scoped and transient providers have no single instance to stop. Move the hook into a singleton provider.',
    );
    await moduleRef.close();
    expect(calls).not.toContain('PerRequest.stop');
  });

  it('warns when the delay and the drain leave the hooks less than a fifth of the deadline; strict refuses to start', async () => {
    const budget = { readinessDelayMs: 5000, drainTimeoutMs: 5000, shutdownTimeoutMs: 11000 };
    const { moduleRef, logger } = await compile(budget);
    await moduleRef.init();
    expect(
      logger.lines.some((line) =>
        line.startsWith('warn readinessDelayMs (5000) + drainTimeoutMs (5000) leave the shutdown hooks less than a fifth of shutdownTimeoutMs (11000)'),
      ),
    ).toBe(true);
    await moduleRef.close();
    const strict = await compile({ ...budget, strict: true });
    await expect(strict.moduleRef.init()).rejects.toThrow('GracefulModule (strict): readinessDelayMs (5000) + drainTimeoutMs (5000)');
  });

  it('warns when shutdownTimeoutMs does not fit in gracePeriodMs with a second to spare', async () => {
    const { moduleRef, logger } = await compile({ shutdownTimeoutMs: 29_500, gracePeriodMs: 30_000 });
    await moduleRef.init();
    expect(logger.lines).toContainEqual(
      expect.stringContaining('shutdownTimeoutMs (29500) does not fit inside the grace period of 30000 ms (gracePeriodMs) with time to spare'),
    );
    await moduleRef.close();
  });

  it('forRootAsync validates the options its factory returns', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [GracefulModule.forRootAsync({ useFactory: () => ({ hookTimeoutMs: Number.POSITIVE_INFINITY }) })],
    })
      .compile()
      .catch((error: Error) => error);
    expect(moduleRef).toBeInstanceOf(Error);
    expect((moduleRef as Error).message).toBe(
      'GracefulModule: option "hookTimeoutMs" is Infinity; it must be a finite number of milliseconds above 0, at most 2147483647.',
    );
  });

  it('forRootAsync takes its options from injected providers', async () => {
    const CONFIG = 'CONFIG';
    @Global()
    @Module({ providers: [{ provide: CONFIG, useValue: { hookTimeoutMs: 1234 } }], exports: [CONFIG] })
    class ConfigModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        GracefulModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { hookTimeoutMs: number }) => ({ ...config, signals: [], logger: false }),
        }),
        DbModule,
        UsersModule,
      ],
    }).compile();
    await moduleRef.init();
    const hooks = moduleRef
      .get(GracefulLifecycleService)
      .plan()
      .phases[0].units.flatMap((u) => u.hooks);
    expect(hooks.map((h) => [h.name, h.timeoutMs])).toEqual([
      ['Users.stop', 1234],
      ['Db.close', 50],
    ]);
    await moduleRef.close();
  });

  it('fails liveness once the shutdown has passed its deadline', async () => {
    process.env.DB_HANGS_IN_TEST = '1';
    const { moduleRef } = await compile({ shutdownTimeoutMs: 20 });
    await moduleRef.init();
    const health = moduleRef.get(GracefulHealthIndicator);
    await moduleRef.close();
    expect(health.isAlive()).toEqual({ graceful: { status: 'down', state: 'stopped' } });
    expect(moduleRef.get(GracefulLifecycleService).lastReport).toMatchObject({ deadlineExceeded: true, exitCode: 124 });
  });

  it('reports readiness and liveness from the lifecycle state only', async () => {
    const { moduleRef } = await compile();
    const health = moduleRef.get(GracefulHealthIndicator);
    expect(health.isReady()).toEqual({ graceful: { status: 'down', state: 'starting' } });
    await moduleRef.init();
    expect(health.isReady('app')).toEqual({ app: { status: 'up', state: 'ready' } });
    await moduleRef.close();
    expect(health.isReady()).toEqual({ graceful: { status: 'down', state: 'stopped' } });
    expect(health.isAlive()).toEqual({ graceful: { status: 'up', state: 'stopped' } });
    expect(health.isAlive('graceful', { details: true })).toEqual({ graceful: { status: 'up', state: 'stopped', reason: 'close', deadlineExceeded: false } });
  });
});

describe('what the startup checks, and when', () => {
  const skipped = 'warn @OnShutdown() on PerRequest.stop is skipped';

  it('finds the hooks just after the start or when the plan is first asked for, not inside init()', async () => {
    const { moduleRef, logger, lifecycle } = await compile({ logPlan: false });
    await moduleRef.init();
    expect(logger.lines.filter((line) => line.startsWith(skipped))).toEqual([]);
    expect(
      lifecycle
        .plan()
        .phases[0].units.map((u) => u.name)
        .sort(),
    ).toEqual(['Db', 'Users']);
    expect(logger.lines.filter((line) => line.startsWith(skipped))).toHaveLength(1);
    await moduleRef.close();
    // Found once: the shutdown used the plan the ask built.
    expect(logger.lines.filter((line) => line.startsWith(skipped))).toHaveLength(1);
    expect(calls).toEqual(['Users.stop:close', 'Db.close', 'Db.onModuleDestroy']);
  });

  it('keeps nothing it found once the start is checked: the shutdown finds the same plan again, without repeating a warning', async () => {
    const { moduleRef, logger, lifecycle } = await compile({ logPlan: false });
    await moduleRef.init();
    const asked = lifecycle.plan();
    // The checks queued for just after the start run on the next turn, then let go of what they found.
    await new Promise((resolve) => setImmediate(resolve));
    const again = lifecycle.plan();
    expect(again).not.toBe(asked);
    expect(again).toEqual(asked);
    await moduleRef.close();
    expect(logger.lines.filter((line) => line.startsWith(skipped))).toHaveLength(1);
    expect(calls).toEqual(['Users.stop:close', 'Db.close', 'Db.onModuleDestroy']);
  });

  it('plans at the shutdown what it planned at the start: a module loaded lazily since adds no hook (the documented limit)', async () => {
    const { moduleRef, lifecycle } = await compile({ logPlan: false });
    await moduleRef.init();
    // The start's checks run on the next turn and let go of what they found.
    await new Promise((resolve) => setImmediate(resolve));
    await moduleRef.get(LazyModuleLoader).load(() => LazyModule);
    expect(
      lifecycle
        .plan()
        .phases.flatMap((phase) => phase.units)
        .map((unit) => unit.name)
        .sort(),
    ).toEqual(['Db', 'Users']);
    await moduleRef.close();
    expect(calls).toEqual(['Users.stop:close', 'Db.close', 'Db.onModuleDestroy']);
  });

  it('refuses finalTimeoutMs at or above shutdownTimeoutMs when some hook is final, and only then', async () => {
    const budget = { shutdownTimeoutMs: 2000, finalTimeoutMs: 2000, logPlan: false };
    const { moduleRef } = await compile(budget);
    await moduleRef.init();
    await moduleRef.close();
    const withFinal = await Test.createTestingModule({
      imports: [GracefulModule.forRoot({ signals: [], logger: new MemoryLogger(), ...budget }), FlushModule],
    }).compile();
    await expect(withFinal.init()).rejects.toThrow('option "finalTimeoutMs" is 2000; it must be below shutdownTimeoutMs (2000)');
  });
});

describe('@OnShutdown() misuse fails when the class is defined, naming it', () => {
  it('on a static method', () => {
    expect(() => {
      class Bad {
        @OnShutdown()
        static stop() {}
      }
      return Bad;
    }).toThrow('@OnShutdown() on Bad.stop: static methods are never called by the module');
  });

  it('with a timeout that is not a positive number', () => {
    expect(() => {
      class Bad {
        @OnShutdown({ timeout: 0 })
        stop() {}
      }
      return Bad;
    }).toThrow('@OnShutdown() on Bad.stop: option "timeout" is 0; it must be a finite number of milliseconds above 0.');
  });

  it('on a property', () => {
    const decorator = OnShutdown() as unknown as (target: object, key: string, descriptor?: PropertyDescriptor) => void;
    class Bad {}
    expect(() => decorator(Bad.prototype, 'field', { value: 42 })).toThrow('@OnShutdown() on Bad.field: it decorates methods only');
  });
});
