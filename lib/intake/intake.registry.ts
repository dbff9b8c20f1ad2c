import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService, ModulesContainer } from '@nestjs/core';
import { instancesOfModule, providerFacts, watchRpcTargets } from '../adapter/nest.adapter.js';
import type { HttpDrain } from '../drain/http.drain.js';
import { GRACEFUL_MODULE_OPTIONS, ON_DRAIN_METHODS } from '../graceful.constants.js';
import { createGracefulLogger, type GracefulLogger } from '../graceful.logger.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { LifecycleRecord } from '../lifecycle/lifecycle.record.js';
import { stackOf } from '../report/shutdown-report.builder.js';
import { BullIntegration } from './bull.intake.js';
import { BullMqIntegration } from './bullmq.intake.js';
import type { IntakeContext, IntakeIntegration, ProviderInstance } from './intake.context.js';
import type { IntakeSource } from './intake.source.js';
import { MicroserviceIntegration } from './microservice.intake.js';
import { OnDrainIntegration } from './on-drain.intake.js';
import { DecoratedProviderScanner, type DecoratedProvider } from '../discovery/decorated-provider.scanner.js';
import { ScheduleIntegration } from './schedule.intake.js';
import { SseIntegration } from './sse.intake.js';
import { WebSocketIntegration } from './websocket.intake.js';

/** The providers with `@OnDrain()` methods, from the startup's one scan, kept until a module is loaded since. */
function onDrainProviders(scanner: DecoratedProviderScanner): () => DecoratedProvider[] {
  let found: DecoratedProvider[] | undefined;
  let modules = -1;
  return () => {
    if (!found || modules !== scanner.moduleCount) {
      modules = scanner.moduleCount;
      found = scanner.take(ON_DRAIN_METHODS);
    }
    return found;
  };
}

/**
 * Every source of work the drain stops besides HTTP: the integrations that
 * are turned on (`intake` option) and find their package in use, and the
 * `@OnDrain()` methods.
 */
@Injectable()
export class IntakeRegistry {
  private readonly logger: GracefulLogger;
  private readonly integrations: IntakeIntegration[] = [];
  private readonly sse?: SseIntegration;
  private app?: object;
  private http?: HttpDrain;
  private servers?: IntakeContext['servers'];
  private readonly unwatchServers?: () => void;

  constructor(
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
    private readonly discovery: DiscoveryService,
    private readonly modules: ModulesContainer,
    record: LifecycleRecord,
    scanner: DecoratedProviderScanner,
  ) {
    this.logger = createGracefulLogger(options.logger, 'GracefulShutdown');
    const { intake } = options;
    if (intake.microservices) {
      const microservices = new MicroserviceIntegration();
      // Every server Nest creates for this container, as it registers it: none exists before the module's providers.
      this.unwatchServers = watchRpcTargets(modules, (server) => microservices.addServer(server));
      this.integrations.push(microservices);
    }
    if (intake.sse) this.integrations.push((this.sse = new SseIntegration()));
    if (intake.websockets) this.integrations.push(new WebSocketIntegration());
    if (intake.bullmq) this.integrations.push(new BullMqIntegration());
    if (intake.bull) this.integrations.push(new BullIntegration());
    if (intake.schedule) this.integrations.push(new ScheduleIntegration());
    this.integrations.push(
      new OnDrainIntegration(
        () => record.reason ?? 'shutdown',
        () => record.deadline ?? Date.now(),
        onDrainProviders(scanner),
      ),
    );
  }

  /** The application is known and about to run `init()`. */
  prepare(app: object, http: HttpDrain | undefined, servers?: IntakeContext['servers']): void {
    this.app = app;
    this.http = http;
    this.servers = servers;
    const context = this.context();
    for (const integration of this.integrations) {
      try {
        integration.prepare?.(context);
      } catch (error) {
        this.logger.error(`Could not prepare the drain of ${integration.constructor.name}; that source will not be drained`, stackOf(error));
      }
    }
  }

  /** The sources to drain now. An integration that fails to look is left out and logged. */
  sources(): IntakeSource[] {
    const context = this.context();
    return this.integrations.flatMap((integration) => {
      try {
        return integration.sources(context);
      } catch (error) {
        this.logger.error(`Could not find the sources of ${integration.constructor.name}; they will not be drained`, stackOf(error));
        return [];
      }
    });
  }

  release(): void {
    this.unwatchServers?.();
    this.sse?.release();
    for (const integration of this.integrations) if (integration !== this.sse) integration.release?.();
  }

  private context(): IntakeContext {
    let instances: ProviderInstance[] | undefined;
    const { discovery, modules } = this;
    return {
      options: this.options,
      logger: this.logger,
      app: this.app,
      http: this.http,
      servers: this.servers,
      // Cheap on purpose: no dependency facts, which startup at scale cannot afford; singletons are checked where it matters.
      instances: () =>
        (instances ??= [...discovery.getProviders(), ...discovery.getControllers()].flatMap((wrapper) => {
          const instance = wrapper.instance as unknown;
          if (!instance || typeof instance !== 'object' || wrapper.isAlias) return [];
          return [
            {
              name: (instance as object).constructor?.name ?? String(wrapper.name),
              instance: instance as object,
              isSingleton: () => providerFacts(wrapper).isSingleton,
            },
          ];
        })),
      findInstance: (test) => {
        for (const wrapper of discovery.getProviders()) {
          const instance = wrapper.instance as unknown;
          if (instance && typeof instance === 'object' && !wrapper.isAlias && test(instance)) return instance;
        }
        return undefined;
      },
      moduleInstances: (moduleName) => instancesOfModule(modules, moduleName),
      controllers: () =>
        discovery.getControllers().flatMap((wrapper) => {
          const metatype = wrapper.metatype as unknown;
          return typeof metatype === 'function' && metatype.prototype ? [{ name: metatype.name, prototype: metatype.prototype as object }] : [];
        }),
    };
  }
}
