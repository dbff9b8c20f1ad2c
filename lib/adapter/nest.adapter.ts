/**
 * The one place that touches Nest internals: what an InstanceWrapper knows
 * of its provider, and the hook into NestApplicationContext's shutdown
 * sequence (Nest offers no public one). Everything else in the package uses
 * public API only.
 */
import { NestApplication, NestApplicationContext, type ModulesContainer } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';

/** A provider or controller as discovery hands it out. */
export type ProviderHandle = InstanceWrapper;

/** What the graph and the explorer need to know of a provider. */
export interface ProviderFacts {
  /** The class name, for messages: `Class` in `Class.method`. */
  name: string;
  isAlias: boolean;
  /** A singleton: neither request-scoped (also through its dependencies) nor transient. */
  isSingleton: boolean;
  /** The instance, for singletons. */
  instance?: object;
  /** Where its methods are: the instance's prototype, or its class's for a non-singleton class provider. */
  prototype?: object;
}

export function providerFacts(wrapper: ProviderHandle): ProviderFacts {
  const isSingleton = !wrapper.isTransient && wrapper.isDependencyTreeStatic();
  const instance = isSingleton && wrapper.instance && typeof wrapper.instance === 'object' ? (wrapper.instance as object) : undefined;
  const classPrototype = !wrapper.inject && typeof wrapper.metatype === 'function' ? (wrapper.metatype.prototype as object) : undefined;
  return {
    get name() {
      return nameOf(wrapper);
    },
    isAlias: Boolean(wrapper.isAlias),
    isSingleton,
    instance,
    prototype: isSingleton ? instance && Object.getPrototypeOf(instance) : classPrototype,
  };
}

/**
 * Where to look for a provider's decorated methods, without the rest of its
 * facts: its instance's prototype, else its class's. Cheap, for the scan of
 * every provider at startup; `providerFacts` then decides for the few that have some.
 */
export function methodsPrototype(wrapper: ProviderHandle): object | undefined {
  if (wrapper.isAlias) return undefined;
  const instance = wrapper.instance as unknown;
  if (instance && typeof instance === 'object') return Object.getPrototypeOf(instance) as object;
  return !wrapper.inject && typeof wrapper.metatype === 'function' ? (wrapper.metatype.prototype as object) : undefined;
}

/** The providers the injector gave it: constructor or factory `inject`, and properties. */
export function dependenciesOf(wrapper: ProviderHandle): ProviderHandle[] {
  // Plain loops: this runs for most providers at startup, 16,000 times in a large app.
  const dependencies: InstanceWrapper[] = [];
  for (const dependency of wrapper.getCtorMetadata?.() ?? []) if (dependency) dependencies.push(dependency);
  for (const property of wrapper.getPropertiesMetadata?.() ?? []) if (property.wrapper) dependencies.push(property.wrapper);
  return dependencies;
}

function nameOf(wrapper: ProviderHandle): string {
  const instance = wrapper.instance as object | undefined;
  const ctorName = instance && typeof instance === 'object' ? instance.constructor?.name : undefined;
  if (ctorName && ctorName !== 'Object') return ctorName;
  if (typeof wrapper.metatype === 'function' && wrapper.metatype.name && !wrapper.inject) return wrapper.metatype.name;
  return typeof wrapper.token === 'function' ? wrapper.token.name : String(wrapper.name ?? wrapper.token);
}

/** An application as the shutdown host sees it. */
export interface ClosableApplication {
  close(signal?: string): Promise<void>;
}

/** What the module registers for one application (one Nest container). */
export interface ShutdownHost {
  /** `init()` began or `enableShutdownHooks()` was called: the application is known. */
  attach(app: ClosableApplication): void;
  /** Whether `app` is the application the host attached (not one of a hybrid application's microservices). */
  isApplication(app: unknown): boolean;
  /**
   * A bootstrap step (`init()`, `listen()`) that a shutdown must wait for.
   * Returns the promise to hand the caller: it settles as `done` does, after
   * the host has seen it.
   */
  bootstrapping<T>(step: 'init' | 'listen', done: Promise<T>): Promise<T>;
  /** The signals `enableShutdownHooks()` asked for; the host listens instead of Nest. */
  listenTo(signals: string[]): void;
  /**
   * Wraps Nest's own shutdown sequence (destroy hooks, dispose, shutdown
   * hooks). Every call returns the one run's promise and calls
   * `nestSequence` at most once. Never rejects.
   */
  runShutdown(signal: string | undefined, nestSequence: () => Promise<void>): Promise<void>;
}

/**
 * Hosts by application container, shared by every copy of this package in
 * the process (a monorepo can load two): the methods are patched once, by
 * whichever copy comes first, and must find the hosts of the others too.
 */
const REGISTRY = Symbol.for('nestjs-graceful.hosts');
const PATCHED = Symbol.for('nestjs-graceful.patched');
/** Set on an application while Nest's own sequence runs inside the host's: calls from inside it go straight to Nest. */
const IN_NEST_SEQUENCE = Symbol.for('nestjs-graceful.in-nest-sequence');
const registry: WeakMap<object, ShutdownHost> =
  ((globalThis as Record<symbol, unknown>)[REGISTRY] as WeakMap<object, ShutdownHost> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY] = new WeakMap<object, ShutdownHost>());

/**
 * The singleton instances held by every module whose class is named
 * `moduleName` (a package's own module, e.g. `ScheduleModule`): where a
 * package keeps what it runs, found by looking at the modules, never at the
 * application's own providers.
 */
export function instancesOfModule(modules: ModulesContainer, moduleName: string): Array<{ name: string; instance: object }> {
  const found: Array<{ name: string; instance: object }> = [];
  for (const module of modules.values()) {
    if ((module.metatype as { name?: string } | undefined)?.name !== moduleName) continue;
    for (const wrapper of module.providers.values()) {
      const instance = wrapper.instance as unknown;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias || !wrapper.isDependencyTreeStatic() || wrapper.isTransient) continue;
      found.push({
        name: typeof wrapper.token === 'string' ? wrapper.token : ((instance as object).constructor?.name ?? String(wrapper.name)),
        instance: instance as object,
      });
    }
  }
  return found;
}

/** Routes the shutdown of the application built on `modules` through `host`. */
export function registerShutdownHost(modules: ModulesContainer, host: ShutdownHost): void {
  installInterception();
  registry.set(modules, host);
}

export function unregisterShutdownHost(modules: ModulesContainer): void {
  registry.delete(modules);
}

type AnyFunction = (this: any, ...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

function hostOf(app: unknown): ShutdownHost | undefined {
  const modules = (app as { container?: { getModules?: () => object } }).container?.getModules?.();
  return modules ? registry.get(modules) : undefined;
}

/** The methods wrapped below; each must exist in the installed Nest, or the module refuses to start. */
function interceptionPoints(): Array<[object, string, string]> {
  const context = NestApplicationContext.prototype;
  // Nest 12 runs the sequence in runShutdownSequence (close() and the signal
  // handler both go through it); Nest 11 in close().
  const sequence = 'runShutdownSequence' in context ? 'runShutdownSequence' : 'close';
  return [
    [context, sequence, 'NestApplicationContext'],
    [context, 'listenToShutdownSignals', 'NestApplicationContext'],
    [context, 'init', 'NestApplicationContext'],
    [NestApplication.prototype, 'init', 'NestApplication'],
    [NestApplication.prototype, 'listen', 'NestApplication'],
  ];
}

function patch(prototype: object, method: string, wrap: (original: AnyFunction) => AnyFunction): void {
  const target = prototype as Record<string, AnyFunction & { [PATCHED]?: true }>;
  const original = target[method];
  if (original[PATCHED]) return;
  const wrapped = Object.assign(wrap(original), { [PATCHED]: true as const });
  Object.defineProperty(prototype, method, { value: wrapped, writable: true, configurable: true });
}

/** Installed once per process; applications without a host keep Nest's behaviour. */
function installInterception(): void {
  const points = interceptionPoints();
  const missing = points.filter(
    ([prototype, method]) => !Object.prototype.hasOwnProperty.call(prototype, method) || typeof (prototype as Record<string, unknown>)[method] !== 'function',
  );
  if (missing.length > 0) {
    throw new Error(
      `nestjs-graceful cannot hook into this version of @nestjs/core: ${missing.map(([, method, owner]) => `${owner}.${method}`).join(', ')} not found. ` +
        'It supports @nestjs/core 11 and 12; install one of those, or report the version you use.',
    );
  }
  const [[context, sequence]] = points;
  patch(
    context,
    sequence,
    (original) =>
      function (this: unknown, signal?: string) {
        const host = hostOf(this);
        if (!host || (this as Record<symbol, unknown>)[IN_NEST_SEQUENCE]) return original.call(this, signal);
        host.attach(this as ClosableApplication);
        return host.runShutdown(signal, () => original.call(this, signal));
      },
  );
  patch(
    context,
    'listenToShutdownSignals',
    (original) =>
      function (this: unknown, signals: string[], options?: unknown) {
        const host = hostOf(this);
        if (!host) return original.call(this, signals, options);
        interceptStandaloneClose(this);
        host.attach(this as ClosableApplication);
        host.listenTo(signals);
      },
  );
  for (const prototype of [context, NestApplication.prototype]) {
    patch(
      prototype,
      'init',
      (original) =>
        function (this: unknown, ...args: unknown[]) {
          const host = hostOf(this);
          if (host) interceptStandaloneClose(this);
          host?.attach(this as ClosableApplication);
          const done = original.apply(this, args);
          return host ? host.bootstrapping('init', done) : done;
        },
    );
  }
  patch(
    NestApplication.prototype,
    'listen',
    (original) =>
      function (this: unknown, ...args: unknown[]) {
        const host = hostOf(this);
        host?.attach(this as ClosableApplication);
        const done = original.apply(this, args);
        return host ? host.bootstrapping('listen', done) : done;
      },
  );
}

/**
 * A standalone microservice (`NestFactory.createMicroservice()`): Nest's
 * `NestMicroservice.close()` closes its transport server first, then runs
 * the lifecycle, so the handlers in progress lose their acks and replies.
 * Its close goes through the host like the others: the drain stops the
 * server, then Nest's close runs as the host's last stage (its second close
 * of the server finds it closed). Patched on its class, found at `init()`:
 * @nestjs/microservices is never imported here.
 */
function interceptStandaloneClose(app: unknown): void {
  const prototype = Object.getPrototypeOf(app) as object | null;
  if (!prototype || prototype === NestApplicationContext.prototype || prototype === NestApplication.prototype) return;
  if (typeof (prototype as { getTransportServer?: unknown }).getTransportServer !== 'function' && !('serverInstance' in (app as object))) return;
  if (!Object.prototype.hasOwnProperty.call(prototype, 'close')) return;
  patch(
    prototype,
    'close',
    (original) =>
      function (this: unknown, ...args: unknown[]) {
        const host = hostOf(this);
        // A hybrid application's microservices share its container (and host): the application closes them itself.
        if (!host || (this as Record<symbol, unknown>)[IN_NEST_SEQUENCE] || !host.isApplication(this)) return original.apply(this, args);
        return host.runShutdown(undefined, async () => {
          (this as Record<symbol, unknown>)[IN_NEST_SEQUENCE] = true;
          try {
            await original.apply(this, args);
          } finally {
            delete (this as Record<symbol, unknown>)[IN_NEST_SEQUENCE];
          }
        });
      },
  );
}

/**
 * The servers of the application's WebSocket gateways: @nestjs/websockets
 * keeps them in the application's socket module, with no public accessor.
 */
export function webSocketServersOf(app: object | undefined): unknown[] {
  const hosts = (
    app as { socketModule?: { socketsContainer?: { getAll?(): Map<unknown, { server?: unknown }> } } } | undefined
  )?.socketModule?.socketsContainer?.getAll?.();
  return hosts ? [...hosts.values()].map((host) => host.server).filter(Boolean) : [];
}

/**
 * Calls `onAdapter` with the application's WebSocket adapter, now and
 * whenever one is set: Nest keeps it in the application's config
 * (`useWebSocketAdapter()`), and creates socket.io's default there only as
 * the first gateway connects, during `init()`.
 */
export function watchWebSocketAdapter(app: object | undefined, onAdapter: (adapter: object) => void): void {
  const config = (app as { config?: { getIoAdapter?(): unknown; setIoAdapter?(adapter: unknown): unknown } } | undefined)?.config;
  if (!config || typeof config.getIoAdapter !== 'function' || typeof config.setIoAdapter !== 'function') return;
  const current = config.getIoAdapter();
  if (current && typeof current === 'object') onAdapter(current);
  const set = config.setIoAdapter;
  config.setIoAdapter = function (this: unknown, adapter: unknown) {
    const result = set.call(this, adapter);
    if (adapter && typeof adapter === 'object') onAdapter(adapter);
    return result;
  };
}
