/**
 * The one place that touches Nest internals: what an InstanceWrapper knows
 * of its dependencies, and the hook into NestApplicationContext's shutdown
 * sequence (Nest offers no public one). Everything else in the package uses
 * public API only.
 */
import { NestApplication, NestApplicationContext, type ModulesContainer } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';

/** What the graph needs to know of a provider. */
export interface ProviderFacts {
  /** The providers the injector gave it: constructor or factory `inject`, and properties. */
  dependencies: InstanceWrapper[];
  isAlias: boolean;
  /** A singleton: neither request-scoped (also through its dependencies) nor transient. */
  isSingleton: boolean;
}

export function providerFacts(wrapper: InstanceWrapper): ProviderFacts {
  const dependencies = [
    ...(wrapper.getCtorMetadata?.() ?? []),
    ...(wrapper.getPropertiesMetadata?.() ?? []).map((property) => property.wrapper),
  ].filter((dependency): dependency is InstanceWrapper => Boolean(dependency));
  return {
    dependencies,
    isAlias: Boolean(wrapper.isAlias),
    isSingleton: !wrapper.isTransient && wrapper.isDependencyTreeStatic(),
  };
}

/** An application as the shutdown host sees it. */
export interface ClosableApplication {
  close(signal?: string): Promise<void>;
}

/** What the module registers for one application (one Nest container). */
export interface ShutdownHost {
  /** `init()` began or `enableShutdownHooks()` was called: the application is known. */
  attach(app: ClosableApplication): void;
  /**
   * A bootstrap step (`init()`, `listen()`) that a shutdown must wait for.
   * Returns the promise to hand the caller: it settles as `done` does, after
   * the host has seen it.
   */
  bootstrapping<T>(step: 'init' | 'listen', done: Promise<T>): Promise<T>;
  /** The signals `enableShutdownHooks()` asked for; the host listens instead of Nest. */
  listenTo(signals: string[]): void;
  /** Wraps Nest's own shutdown sequence (destroy hooks, dispose, shutdown hooks). Never rejects. */
  runShutdown(signal: string | undefined, nestSequence: () => Promise<void>): Promise<void>;
}

const hosts = new WeakMap<object, ShutdownHost>();
const PATCHED = Symbol.for('nestjs-graceful.patched');

/** Routes the shutdown of the application built on `modules` through `host`. */
export function registerShutdownHost(modules: ModulesContainer, host: ShutdownHost): void {
  installInterception();
  hosts.set(modules, host);
}

export function unregisterShutdownHost(modules: ModulesContainer): void {
  hosts.delete(modules);
}

type AnyFunction = (this: any, ...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

function hostOf(app: unknown): ShutdownHost | undefined {
  const modules = (app as { container?: { getModules?: () => object } }).container?.getModules?.();
  return modules ? hosts.get(modules) : undefined;
}

function patch(prototype: object, method: string, wrap: (original: AnyFunction) => AnyFunction): void {
  const target = prototype as Record<string, AnyFunction & { [PATCHED]?: true }>;
  const original = target[method];
  if (typeof original !== 'function' || original[PATCHED] || !Object.prototype.hasOwnProperty.call(target, method)) return;
  const wrapped = Object.assign(wrap(original), { [PATCHED]: true as const });
  Object.defineProperty(prototype, method, { value: wrapped, writable: true, configurable: true });
}

/** Installed once per process; applications without a host keep Nest's behaviour. */
function installInterception(): void {
  const context = NestApplicationContext.prototype;
  // Nest 12 runs the sequence in runShutdownSequence (close() and the signal
  // handler both go through it); Nest 11 in close().
  const sequence = 'runShutdownSequence' in context ? 'runShutdownSequence' : 'close';
  patch(context, sequence, (original) =>
    function (this: unknown, signal?: string) {
      const host = hostOf(this);
      if (!host) return original.call(this, signal);
      host.attach(this as ClosableApplication);
      return host.runShutdown(signal, () => original.call(this, signal));
    },
  );
  patch(context, 'listenToShutdownSignals', (original) =>
    function (this: unknown, signals: string[], options?: unknown) {
      const host = hostOf(this);
      if (!host) return original.call(this, signals, options);
      host.attach(this as ClosableApplication);
      host.listenTo(signals);
    },
  );
  for (const prototype of [context, NestApplication.prototype]) {
    patch(prototype, 'init', (original) =>
      function (this: unknown, ...args: unknown[]) {
        const host = hostOf(this);
        host?.attach(this as ClosableApplication);
        const done = original.apply(this, args);
        return host ? host.bootstrapping('init', done) : done;
      },
    );
  }
  patch(NestApplication.prototype, 'listen', (original) =>
    function (this: unknown, ...args: unknown[]) {
      const host = hostOf(this);
      host?.attach(this as ClosableApplication);
      const done = original.apply(this, args);
      return host ? host.bootstrapping('listen', done) : done;
    },
  );
}
