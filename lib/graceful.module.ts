import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ShutdownHookAccessor } from './discovery/shutdown-hook.accessor.js';
import { DecoratedProviderScanner } from './discovery/decorated-provider.scanner.js';
import { ShutdownHookExplorer } from './discovery/shutdown-hook.explorer.js';
import { WarmUpAccessor } from './discovery/warm-up.accessor.js';
import { WarmUpExplorer } from './discovery/warm-up.explorer.js';
import { WorkTracker } from './drain/work.tracker.js';
import { GRACEFUL_MODULE_OPTIONS } from './graceful.constants.js';
import { GracefulHealthIndicator } from './health/graceful.health-indicator.js';
import type { GracefulModuleAsyncOptions, GracefulModuleOptions } from './interfaces/graceful-module-options.interface.js';
import { GracefulLifecycleService } from './lifecycle/graceful-lifecycle.service.js';
import { LifecycleRecord } from './lifecycle/lifecycle.record.js';
import { ReadinessHolder } from './lifecycle/readiness.holder.js';
import { resolveGracefulOptions } from './options/graceful-options.resolver.js';
import { ShutdownObservers } from './observe/shutdown.observers.js';
import { stampTicket, watchCreateCalls, type ModuleTicket } from './process/create.window.js';
import { ProcessSignals } from './process/process-signals.js';
import { ShutdownPlanner } from './shutdown/shutdown.planner.js';
import { StartupDiagnostics } from './shutdown/startup.diagnostics.js';
import { ShutdownSequence } from './shutdown/shutdown.sequence.js';
import { IntakeRegistry } from './intake/intake.registry.js';

/**
 * A global module that gives the application an ordered, bounded, draining
 * shutdown. Import it once, in the root module.
 */
@Module({})
export class GracefulModule {
  /** Options are validated here, so a bad one stops the application before it starts. */
  static forRoot(options: GracefulModuleOptions = {}): DynamicModule {
    const resolved = resolveGracefulOptions(options);
    const ticket: ModuleTicket = { signals: resolved.signals, logger: resolved.logger };
    return GracefulModule.assemble({ provide: GRACEFUL_MODULE_OPTIONS, useValue: stampTicket(resolved, ticket) }, [], ticket);
  }

  /** Until its factory has resolved the options, a signal inside `NestFactory.create()` is one of the default signals. */
  static forRootAsync(options: GracefulModuleAsyncOptions): DynamicModule {
    const ticket: ModuleTicket = {};
    return GracefulModule.assemble(
      {
        provide: GRACEFUL_MODULE_OPTIONS,
        useFactory: async (...args: unknown[]) => {
          const resolved = resolveGracefulOptions(await options.useFactory(...args));
          ticket.signals = resolved.signals;
          ticket.logger = resolved.logger;
          return stampTicket(resolved, ticket);
        },
        inject: options.inject ?? [],
      },
      options.imports ?? [],
      ticket,
    );
  }

  /**
   * `ticket` goes on the dynamic module: a `NestFactory.create()` whose module
   * graph holds it listens to the module's signals from its first instant
   * (lib/process/create.window.ts).
   */
  private static assemble(optionsProvider: Provider, imports: DynamicModule['imports'], ticket: ModuleTicket): DynamicModule {
    watchCreateCalls();
    return stampTicket(
      {
        module: GracefulModule,
        global: true,
        imports: [DiscoveryModule, ...(imports ?? [])],
        providers: [
          optionsProvider,
          LifecycleRecord,
          WorkTracker,
          ShutdownHookAccessor,
          DecoratedProviderScanner,
          ShutdownHookExplorer,
          WarmUpAccessor,
          WarmUpExplorer,
          ReadinessHolder,
          ShutdownPlanner,
          ShutdownObservers,
          ProcessSignals,
          IntakeRegistry,
          StartupDiagnostics,
          ShutdownSequence,
          GracefulLifecycleService,
          HealthIndicatorService,
          GracefulHealthIndicator,
        ],
        exports: [GracefulLifecycleService, GracefulHealthIndicator],
      },
      ticket,
    );
  }
}
