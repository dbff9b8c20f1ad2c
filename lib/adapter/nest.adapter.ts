/**
 * The one place that touches Nest internals: what an InstanceWrapper knows
 * of its provider, and the hook into NestApplicationContext's shutdown
 * sequence (Nest offers no public one). Everything else in the package uses
 * public API only.
 */
import type { InjectionToken } from '@nestjs/common';
import { NestApplication, NestApplicationContext, NestFactory, type ModulesContainer } from '@nestjs/core';
import { STATIC_CONTEXT } from '@nestjs/core/injector/constants.js';
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

/** A class, not an object literal with a getter: one is made per provider with hooks (8,000 at startup in a large app). */
class WrapperFacts implements ProviderFacts {
  readonly isAlias: boolean;
  readonly isSingleton: boolean;
  readonly instance?: object;
  readonly prototype?: object;

  constructor(private readonly wrapper: ProviderHandle) {
    this.isAlias = Boolean(wrapper.isAlias);
    this.isSingleton = !wrapper.isTransient && wrapper.isDependencyTreeStatic();
    if (this.isSingleton) {
      // Read once: each read of `instance` is a lookup in the wrapper's instances by context.
      const instance = wrapper.instance as unknown;
      if (instance && typeof instance === 'object') {
        this.instance = instance;
        this.prototype = Object.getPrototypeOf(instance) as object;
      }
    } else if (!wrapper.inject && typeof wrapper.metatype === 'function') this.prototype = wrapper.metatype.prototype as object;
  }

  get name(): string {
    return nameOf(this.wrapper);
  }
}

/**
 * Nest has constructed the provider (its class's constructor ran, its factory
 * resolved). Inside `NestFactory.create()` some have not yet: those hold only
 * the bare prototype Nest prepares for them.
 */
export function isConstructed(wrapper: ProviderHandle): boolean {
  return wrapper.getInstanceByContextId(STATIC_CONTEXT).isResolved === true;
}

export function providerFacts(wrapper: ProviderHandle): ProviderFacts {
  return new WrapperFacts(wrapper);
}

/**
 * Where to look for a provider's decorated methods, without the rest of its
 * facts: its instance's prototype, else its class's. Cheap, for the scan of
 * every provider at startup; `providerFacts` then decides for the few that
 * have some. With `time` (the scan at the start of `init()`), the same look
 * at the instance also times its lifecycle hooks (`timeLifecycleHooks`).
 */
export function methodsPrototype(wrapper: ProviderHandle, time?: HookTimer): object | undefined {
  if (wrapper.isAlias) return undefined;
  const instance = wrapper.instance as unknown;
  if (instance && typeof instance === 'object') {
    if (time) timeLifecycleHooks(wrapper, instance as Record<string, unknown>, time);
    return Object.getPrototypeOf(instance) as object;
  }
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
   * A bootstrap step (`init()`, `listen()`) that a shutdown must wait for:
   * the host calls `start` (or not, once a signal stopped the startup).
   * Returns the promise to hand the caller: it settles as the step does,
   * after the host has seen it.
   */
  bootstrapping<T>(step: 'init' | 'listen', start: () => Promise<T>): Promise<T>;
  /** `NestFactory` has created the application (or context, or microservice) on the host's container: its providers exist. */
  created?(): void;
  /** The signals `enableShutdownHooks()` asked for; the host listens instead of Nest. */
  listenTo(signals: string[]): void;
  /**
   * Wraps Nest's own shutdown sequence (destroy hooks, dispose, shutdown
   * hooks). Every call returns the one run's promise and calls
   * `nestSequence` at most once. Never rejects. `nestSequence(true)` does not
   * wait for an initialization that is still running (a hung `onModuleInit`):
   * the host gave up on it.
   */
  runShutdown(signal: string | undefined, nestSequence: (abandonInit?: boolean) => Promise<void>): Promise<void>;
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
    [Object.getPrototypeOf(NestFactory) as object, 'createNestInstance', 'NestFactoryStatic'],
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
        return host.runShutdown(signal, (abandonInit) => {
          // Nest's standalone context waits for its initialization first: one that hangs would hold the destroy hooks forever.
          if (abandonInit) (this as { initializationPromise?: Promise<unknown> }).initializationPromise = undefined;
          return original.call(this, signal);
        });
      },
  );
  // Called by every NestFactory.create*() once the container's providers exist, before the application is handed out.
  patch(
    Object.getPrototypeOf(NestFactory) as object,
    'createNestInstance',
    (original) =>
      function (this: unknown, instance: unknown, ...rest: unknown[]) {
        hostOf(instance)?.created?.();
        return original.call(this, instance, ...rest);
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
          if (!host) return original.apply(this, args);
          host.attach(this as ClosableApplication);
          return host.bootstrapping('init', () => original.apply(this, args));
        },
    );
  }
  patch(
    NestApplication.prototype,
    'listen',
    (original) =>
      function (this: unknown, ...args: unknown[]) {
        const host = hostOf(this);
        if (!host) return original.apply(this, args);
        host.attach(this as ClosableApplication);
        return host.bootstrapping('listen', () => original.apply(this, args));
      },
  );
}

/**
 * What a NestFactory.create*() call is told, as it begins, for each call;
 * what it returns is called as the call settles (with the error when it
 * rejects: the caller gets that error once what it returns has settled).
 */
export type CreateWatcher = (rootModule: unknown) => ((failed: boolean, error?: unknown) => void | Promise<void>) | undefined;

const CREATE_METHODS = ['create', 'createApplicationContext', 'createMicroservice'] as const;

/**
 * Calls `watcher` as each `NestFactory.create()`, `createApplicationContext()`
 * or `createMicroservice()` begins, before Nest has scanned anything, with the
 * root module it was given; then what `watcher` returned once the call has
 * settled (after the caller's own reactions to it). Installed once per process,
 * by whichever copy of the package comes first: its watcher serves the others.
 * A call costs the watcher's work and nothing per provider.
 */
export function watchNestFactory(watcher: CreateWatcher): void {
  const factory = Object.getPrototypeOf(NestFactory) as Record<string, unknown>;
  for (const method of CREATE_METHODS) {
    if (typeof factory[method] !== 'function') continue;
    patch(
      factory,
      method,
      (original) =>
        function (this: unknown, ...args: unknown[]) {
          const settle = watcher(args[0]);
          if (!settle) return original.apply(this, args);
          let result: Promise<unknown>;
          try {
            result = Promise.resolve(original.apply(this, args));
          } catch (error) {
            void Promise.resolve(settle(true, error)).catch(() => undefined);
            throw error;
          }
          return result.then(
            (value) => {
              void settle(false);
              return value;
            },
            async (error: unknown) => {
              // A rollback of what the call constructed runs before the caller sees the error, as for a failed init().
              await Promise.resolve(settle(true, error)).catch(() => undefined);
              throw error;
            },
          );
        },
    );
  }
}

/** Module metadata's key for a module's imports (`MODULE_METADATA.IMPORTS` of @nestjs/common). */
const IMPORTS_METADATA = 'imports';

/**
 * Walks the import graph of `root` as Nest will scan it (module classes,
 * dynamic modules, `forwardRef()`s, module metadata), without scanning it,
 * breadth first: `pick` is offered each dynamic module (and metadata object)
 * once, until it returns something. `unsure` when a part of the graph walked
 * is a promise (an async dynamic module, known only once Nest has awaited
 * it). Reads module metadata only: its work grows with the modules (a module
 * imported by the root is found after the root's imports), never with the
 * providers.
 */
export function findInImports<T>(root: unknown, pick: (node: object) => T | undefined): { found?: T; unsure: boolean } {
  let unsure = false;
  const seen = new Set<unknown>();
  const queue: unknown[] = [root];
  const getMetadata = (Reflect as { getMetadata?: (key: string, target: object) => unknown }).getMetadata;
  for (let next = 0; next < queue.length; next++) {
    const node = queue[next];
    if (!node || (typeof node !== 'object' && typeof node !== 'function') || seen.has(node)) continue;
    seen.add(node);
    if (typeof (node as { then?: unknown }).then === 'function') {
      unsure = true;
    } else if (typeof node === 'function') {
      const imports = getMetadata?.(IMPORTS_METADATA, node);
      if (Array.isArray(imports)) for (const each of imports) queue.push(each);
    } else if (typeof (node as { forwardRef?: unknown }).forwardRef === 'function') {
      try {
        queue.push((node as { forwardRef: () => unknown }).forwardRef());
      } catch {
        unsure = true;
      }
    } else {
      const found = pick(node);
      if (found !== undefined) return { found, unsure };
      const { module, imports } = node as { module?: unknown; imports?: unknown };
      if (module) queue.push(module);
      if (Array.isArray(imports)) for (const each of imports) queue.push(each);
    }
  }
  return { unsure };
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

const RPC_WATCHERS = Symbol.for('nestjs-graceful.rpc-target-watchers');

/** Whether this Nest registers the microservice servers it creates (`addRpcTarget`, @nestjs/core 11.1.4 and later): `watchRpcTargets` sees them. */
export function canWatchRpcTargets(modules: ModulesContainer): boolean {
  const container = modules as unknown as Record<string, unknown>;
  return typeof container.addRpcTarget === 'function' || typeof container.getRpcTargetRegistry === 'function';
}

/** How many microservice servers `app` runs: those a hybrid application connected (`getMicroservices()`), or one for a standalone microservice. */
export function microserviceCount(app: unknown): number {
  const candidate = app as { getMicroservices?: () => unknown[]; serverInstance?: unknown } | undefined;
  if (typeof candidate?.getMicroservices === 'function') return candidate.getMicroservices().length;
  return candidate?.serverInstance ? 1 : 0;
}

/**
 * Calls `onServer` with each microservice server Nest registers for the
 * application built on `modules` (`NestFactory.createMicroservice()`,
 * `app.connectMicroservice()`): Nest's `addRpcTarget`, called as it creates
 * the server, before the server listens, and after the module's providers
 * exist. This container's own method is wrapped, once for every copy of the
 * package: the startup subscribes to no observable (Nest's registry is an
 * RxJS `ReplaySubject`, whose first subscription costs milliseconds of
 * compiling). A Nest without the method: its registry is subscribed to.
 * Returns what stops the calls.
 */
export function watchRpcTargets(modules: ModulesContainer, onServer: (server: unknown) => void): () => void {
  const container = modules as unknown as {
    addRpcTarget?: (target: unknown) => unknown;
    getRpcTargetRegistry?: () => { subscribe(next: (server: unknown) => void): { unsubscribe(): void } };
    [RPC_WATCHERS]?: Set<(server: unknown) => void>;
  };
  const add = container.addRpcTarget;
  if (typeof add !== 'function') {
    const subscription = container.getRpcTargetRegistry?.().subscribe(onServer);
    return () => subscription?.unsubscribe();
  }
  let watchers = container[RPC_WATCHERS];
  if (!watchers) {
    const all = (watchers = new Set());
    container[RPC_WATCHERS] = all;
    container.addRpcTarget = function (this: unknown, target: unknown) {
      const result = add.call(this, target);
      for (const watcher of [...all]) watcher(target);
      return result;
    };
  }
  const own = watchers;
  own.add(onServer);
  return () => own.delete(onServer);
}

/** Called as a lifecycle hook starts (`Class.method`); returns what to call at its end. */
export type HookTimer = (name: string) => (outcome?: 'ok' | 'error') => void;

/**
 * Times a provider's or controller's `onModuleInit` and
 * `onApplicationBootstrap` as Nest calls them: Nest calls them from module
 * functions (`callModuleInitHook`) that cannot be wrapped, so an instance
 * that has one gets a wrapper of its own, which puts the instance back as it
 * was when called. Called by the one scan of every provider at the start of
 * `init()` (lib/discovery/decorated-provider.scanner.ts), for each instance:
 * two `in` tests of a property most instances lack, nothing more.
 */
export function timeLifecycleHooks(wrapper: ProviderHandle, instance: Record<string, unknown>, begin: HookTimer): void {
  // Named `in` tests, not a loop over the names nor a read of the value: the cheapest miss on thousands of classes of their own (half of a read's).
  if ('onModuleInit' in instance && typeof instance.onModuleInit === 'function') timeHook(wrapper, instance, 'onModuleInit', begin);
  if ('onApplicationBootstrap' in instance && typeof instance.onApplicationBootstrap === 'function')
    timeHook(wrapper, instance, 'onApplicationBootstrap', begin);
}

/**
 * The `Class.onModuleInit` / `Class.onApplicationBootstrap` hooks the startup
 * would time (named as `timeLifecycleHooks` names them): what a failed
 * startup never reached is those it never began, leaving out the module
 * that holds `ownToken` (this one's). Walks every provider: only on the way
 * out of a failed startup.
 */
/** The lifecycle hooks the startup times, in the order Nest calls them. */
const LIFECYCLE_HOOKS = ['onModuleInit', 'onApplicationBootstrap'] as const;

export function lifecycleHookNames(modules: ModulesContainer, ownToken: unknown): string[] {
  const names: string[] = [];
  for (const moduleRef of modules.values()) {
    // The module's own providers are not the application's startup.
    if (moduleRef.providers.has(ownToken as InjectionToken)) continue;
    for (const collection of [moduleRef.providers, moduleRef.controllers]) {
      for (const wrapper of collection.values()) {
        if (wrapper.isAlias || wrapper.isTransient || !wrapper.isDependencyTreeStatic()) continue;
        const instance = wrapper.instance as Record<string, unknown> | null | undefined;
        if (!instance || typeof instance !== 'object') continue;
        for (const method of LIFECYCLE_HOOKS) if (typeof instance[method] === 'function') names.push(`${nameOf(wrapper)}.${method}`);
      }
    }
  }
  return names;
}

function timeHook(wrapper: InstanceWrapper, instance: Record<string, unknown>, method: string, begin: HookTimer): void {
  if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) return;
  const own = Object.getOwnPropertyDescriptor(instance, method);
  const original = instance[method] as AnyFunction;
  const name = `${nameOf(wrapper)}.${method}`;
  const restore = () => {
    if (own) Object.defineProperty(instance, method, own);
    else delete instance[method];
  };
  const timed = function (this: unknown, ...args: unknown[]): unknown {
    restore();
    const end = begin(name);
    try {
      const result: unknown = original.apply(this, args);
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        (result as Promise<unknown>).then(
          () => end('ok'),
          () => end('error'),
        );
      } else end('ok');
      return result;
    } catch (error) {
      end('error');
      throw error;
    }
  };
  try {
    Object.defineProperty(instance, method, { value: timed, configurable: true, writable: true, enumerable: false });
  } catch {
    // A frozen instance is left as it is: its hook is not timed.
  }
}
