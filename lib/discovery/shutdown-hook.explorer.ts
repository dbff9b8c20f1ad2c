import { Inject, Injectable } from '@nestjs/common';
import { dependenciesOf, isConstructed, providerFacts, type ProviderHandle } from '../adapter/nest.adapter.js';
import { recordedMethods } from '../decorators/method-target.js';
import { GRACEFUL_MODULE_OPTIONS, ON_SHUTDOWN_METHODS } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { HookSpec, IndexedProviderGraph, ProviderNode } from '../graph/stop-plan.types.js';
import type { OnShutdownOptions } from '../interfaces/on-shutdown-options.interface.js';
import type { ShutdownContext } from '../interfaces/shutdown-context.interface.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { DecoratedProviderScanner } from './decorated-provider.scanner.js';
import { ShutdownHookAccessor } from './shutdown-hook.accessor.js';

export type HookCall = (context: ShutdownContext) => unknown;

/** How to call each hook, by its key. */
export interface HookCalls {
  get(key: string): HookCall | undefined;
}

export interface ExploredHooks {
  graph: IndexedProviderGraph;
  calls: HookCalls;
  /** Some hook is `final: true`. */
  anyFinal: boolean;
}

type Instance = Record<string, HookCall>;

const NO_EDGES: readonly number[] = Object.freeze([]);

/**
 * A provider with hooks. Its name (and through it its hooks' names) is
 * looked up only when asked: by a warning, the plan, or the shutdown. Its
 * hooks are kept as their methods and the options their decorator was given
 * (one of each for most providers, no list): the hook records are made when
 * asked, so that nothing else is kept per hook from the startup to the
 * shutdown (about 120 bytes per hook less).
 */
class ExploredProvider implements ProviderNode {
  private methods: string | string[] = [];
  private options: OnShutdownOptions | OnShutdownOptions[] = [];
  private named?: string;

  constructor(
    readonly index: number,
    readonly wrapper: ProviderHandle,
    readonly instance: Instance,
    readonly defaultTimeoutMs: number,
  ) {}

  get id(): string {
    return String(this.index);
  }

  get name(): string {
    // Its class's name, as the adapter gives it, without the rest of its facts when the instance knows it.
    const own = (this.instance as object).constructor?.name;
    return (this.named ??= own && own !== 'Object' ? own : providerFacts(this.wrapper).name);
  }

  /** Its hooks, in declaration order: new records at each ask. */
  get hooks(): ExploredHook[] {
    const { methods, options } = this;
    if (typeof methods === 'string') return [new ExploredHook(this, methods, options as OnShutdownOptions)];
    return methods.map((method, i) => new ExploredHook(this, method, (options as OnShutdownOptions[])[i]));
  }

  hasHook(method: string): boolean {
    return typeof this.methods === 'string' ? this.methods === method : this.methods.includes(method);
  }

  /** The methods and their options, as the explorer found them (at least one). */
  setHooks(methods: string[], options: OnShutdownOptions[]): void {
    if (methods.length === 1) {
      this.methods = methods[0];
      this.options = options[0];
    } else {
      this.methods = methods.slice();
      this.options = options.slice();
    }
  }
}

/** One `@OnShutdown()` method: its key (`<provider index>:<method>`), name (`Class.method`), order and timeout are read when asked. */
class ExploredHook implements HookSpec {
  constructor(
    private readonly provider: ExploredProvider,
    readonly method: string,
    private readonly options: OnShutdownOptions,
  ) {}

  get key(): string {
    return `${this.provider.index}:${this.method}`;
  }

  get name(): string {
    return `${this.provider.name}.${this.method}`;
  }

  get order(): number {
    return this.options.order ?? 0;
  }

  get timeoutMs(): number {
    return this.options.timeout ?? this.provider.defaultTimeoutMs;
  }

  get final(): boolean {
    return this.options.final === true;
  }
}

/** The call of a hook, built when the shutdown asks for it: nothing is kept per hook for it until then. */
class ExploredCalls implements HookCalls {
  constructor(private readonly providers: readonly ExploredProvider[]) {}

  get(key: string): HookCall | undefined {
    const colon = key.indexOf(':');
    const provider = colon > 0 ? this.providers[Number(key.slice(0, colon))] : undefined;
    const method = key.slice(colon + 1);
    if (!provider?.hasHook(method)) return undefined;
    const instance = provider.instance;
    return (context) => instance[method](context);
  }
}

/**
 * Finds every `@OnShutdown()` method of the application's providers and
 * controllers, and the dependency graph between all of them.
 */
@Injectable()
export class ShutdownHookExplorer {
  private readonly logger;

  constructor(
    private readonly scanner: DecoratedProviderScanner,
    private readonly accessor: ShutdownHookAccessor,
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
  ) {
    this.logger = createGracefulLogger(options.logger, ShutdownHookExplorer.name);
  }

  /**
   * The graph holds the providers with hooks only: a dependency through
   * providers without hooks becomes one edge (rule 2 of the plan), found by
   * walking the injector's metadata. Each class's hook list is read once;
   * names, keys and calls are built when first needed, which keeps startup
   * and memory low in large apps. With `constructedOnly`, the providers Nest
   * has not constructed yet (inside `NestFactory.create()`) are left out.
   * With `again`, finds again what an earlier call found (the same
   * providers), without repeating its warnings.
   */
  explore(constructedOnly = false, again = false): ExploredHooks {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- read by the graph's getter
    const explorer = this;
    const providers: ExploredProvider[] = [];
    let anyFinal = false;
    const nodeOf = new Map<ProviderHandle, ExploredProvider>();
    const defaultTimeoutMs = this.options.hookTimeoutMs;
    // Filled per provider, then copied to measure (when more than one): an array grown from empty reserves room for 17.
    const methodsFound: string[] = [];
    const optionsFound: OnShutdownOptions[] = [];
    for (const { wrapper, prototype: candidate, lists } of again ? this.scanner.retake(ON_SHUTDOWN_METHODS) : this.scanner.take(ON_SHUTDOWN_METHODS)) {
      const facts = providerFacts(wrapper);
      const prototype = facts.prototype as Instance | undefined;
      if (facts.isAlias || !prototype || (constructedOnly && !isConstructed(wrapper))) continue;
      // The scan read the list on the prototype it looked at; a non-singleton's methods are its class's.
      const methods = prototype === candidate ? lists[ON_SHUTDOWN_METHODS] : recordedMethods(prototype, ON_SHUTDOWN_METHODS);
      for (const method of methods) {
        // An override without the decorator is no hook.
        const fn = prototype[method];
        const hookOptions = typeof fn === 'function' ? this.accessor.getOptions(fn) : undefined;
        if (!hookOptions) continue;
        if (!facts.isSingleton) {
          if (!again) this.logger.warn(MESSAGES.nonStaticProvider(`${facts.name}.${method}`));
          continue;
        }
        methodsFound.push(method);
        optionsFound.push(hookOptions);
        if (hookOptions.final === true) anyFinal = true;
      }
      if (methodsFound.length === 0) continue;
      const provider = new ExploredProvider(providers.length, wrapper, facts.instance as Instance, defaultTimeoutMs);
      provider.setHooks(methodsFound, optionsFound);
      methodsFound.length = 0;
      optionsFound.length = 0;
      providers.push(provider);
      nodeOf.set(wrapper, provider);
    }
    // The edges are walked when first read: by the plan's checks, which need not run inside the startup.
    let dependencies: Array<readonly number[]> | undefined;
    const graph: IndexedProviderGraph = {
      nodes: providers,
      get dependencies() {
        return (dependencies ??= explorer.dependenciesBetween(providers, nodeOf));
      },
    };
    return { graph, calls: new ExploredCalls(providers), anyFinal };
  }

  /** For each provider with hooks, the providers with hooks it reaches directly or through providers without, as indices. */
  private dependenciesBetween(providers: ExploredProvider[], nodeOf: Map<ProviderHandle, ExploredProvider>): Array<readonly number[]> {
    const dependencies: Array<readonly number[]> = [];
    const stack: ProviderHandle[] = [];
    // Filled per provider, then copied to measure (see `explore`).
    const reached: number[] = [];
    // What one walk has seen: a short list (most walks see one to three providers), a set once it grows.
    const seenList: ProviderHandle[] = [];
    let seenSet: Set<ProviderHandle> | undefined;
    const firstSight = (wrapper: ProviderHandle): boolean => {
      if (seenSet) return seenSet.size < seenSet.add(wrapper).size;
      if (seenList.includes(wrapper)) return false;
      seenList.push(wrapper);
      if (seenList.length > 16) seenSet = new Set(seenList);
      return true;
    };
    for (const node of providers) {
      seenList.length = 0;
      seenSet = undefined;
      firstSight(node.wrapper);
      for (const dependency of dependenciesOf(node.wrapper)) stack.push(dependency);
      while (stack.length > 0) {
        const next = stack.pop()!;
        if (!firstSight(next)) continue;
        const target = nodeOf.get(next);
        if (target) reached.push(target.index);
        else for (const dependency of dependenciesOf(next)) stack.push(dependency);
      }
      dependencies.push(reached.length > 0 ? reached.slice() : NO_EDGES);
      reached.length = 0;
    }
    return dependencies;
  }
}
