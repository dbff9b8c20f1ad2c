import type { GracefulLogger } from '../graceful.logger.js';
import type { HttpDrain } from '../drain/http.drain.js';
import type { HttpServerRegistry } from '../drain/http-server.registry.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import type { IntakeSource } from './intake.source.js';

/** A singleton provider or controller, as the integrations look for what they drain. */
export interface ProviderInstance {
  name: string;
  instance: object;
  /** Neither request-scoped (also through a dependency) nor transient: one instance to call. */
  isSingleton(): boolean;
}

/** What an integration sees of the application. */
export interface IntakeContext {
  readonly options: ResolvedGracefulOptions;
  readonly logger: GracefulLogger;
  /** The application, once it has started booting. */
  readonly app?: object;
  readonly http?: HttpDrain;
  /** Every HTTP server the drain stops (the application's, those it is served through, those handed to `drainServer()`). */
  readonly servers?: Pick<HttpServerRegistry, 'each'>;
  /** Every singleton provider and controller instance (computed once per call of the registry). */
  instances(): ProviderInstance[];
  /** The first provider instance that passes `test`, found without listing them all (cheap at startup). */
  findInstance(test: (instance: object) => boolean): object | undefined;
  /**
   * The singleton instances of the modules whose class is `moduleName` (a
   * package's own module): cheap, the application's providers are not looked
   * at. `name` is the provider's token when it is a string, else its class.
   */
  moduleInstances(moduleName: string): Array<{ name: string; instance: object }>;
  /** Every controller class's prototype, with its class name. */
  controllers(): Array<{ name: string; prototype: object }>;
}

/**
 * One integration (microservices, BullMQ, ...): its own small file. Detects
 * its package by what the application holds, never by importing it, so that
 * an application without it pays nothing.
 */
export interface IntakeIntegration {
  /** Once the application is known and before its `init()` runs: wrap what must be counted from the start. */
  prepare?(context: IntakeContext): void;
  /** The sources to drain, looked up when asked (at the end of `init()` for the plan, and at the drain). */
  sources(context: IntakeContext): IntakeSource[];
  /** The application has stopped: takes off what `prepare` put on shared objects (server listeners). */
  release?(): void;
}
