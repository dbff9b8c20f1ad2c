import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { dependenciesOf, methodsPrototype, providerFacts, type ProviderHandle } from '../adapter/nest.adapter.js';
import { recordedMethods } from '../decorators/method-target.js';
import { GRACEFUL_MODULE_OPTIONS, ON_SHUTDOWN_METHODS } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { DependencyEdge, ProviderGraph, ProviderNode } from '../graph/stop-plan.types.js';
import type { OnShutdownOptions } from '../interfaces/on-shutdown-options.interface.js';
import type { ShutdownContext } from '../interfaces/shutdown-context.interface.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { ShutdownHookAccessor } from './shutdown-hook.accessor.js';

export type HookCall = (context: ShutdownContext) => unknown;

export interface ExploredHooks {
  graph: ProviderGraph;
  /** By hook key: how to call it. */
  calls: Map<string, HookCall>;
}

/**
 * Finds every `@OnShutdown()` method of the application's providers and
 * controllers, and the dependency graph between all of them.
 */
@Injectable()
export class ShutdownHookExplorer {
  private readonly logger;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly accessor: ShutdownHookAccessor,
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
  ) {
    this.logger = createGracefulLogger(options.logger, ShutdownHookExplorer.name);
  }

  /**
   * The graph holds the providers with hooks only: a dependency through
   * providers without hooks becomes one edge (rule 2 of the plan), found by
   * walking the injector's metadata. Providers that no walk reaches cost a
   * prototype lookup each, which keeps startup cheap in large apps.
   */
  explore(): ExploredHooks {
    const wrappers: ProviderHandle[] = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    const calls = new Map<string, HookCall>();
    const nodes: ProviderNode[] = [];
    const nodeOf = new Map<ProviderHandle, ProviderNode>();
    for (const wrapper of wrappers) {
      const candidate = methodsPrototype(wrapper);
      if (!candidate || this.hookMethods(candidate as Record<string, HookCall>).length === 0) continue;
      const facts = providerFacts(wrapper);
      const prototype = facts.prototype as Record<string, HookCall> | undefined;
      if (facts.isAlias || !prototype) continue;
      const methods = this.hookMethods(prototype);
      const id = String(nodes.length);
      const node: ProviderNode = { id, name: facts.name, hooks: [] };
      for (const [method, hookOptions] of methods) {
        const name = `${node.name}.${method}`;
        if (!facts.isSingleton) {
          this.logger.warn(MESSAGES.nonStaticProvider(name));
          continue;
        }
        const key = `${id}:${method}`;
        node.hooks.push({
          key,
          name,
          order: hookOptions.order ?? 0,
          timeoutMs: hookOptions.timeout ?? this.options.hookTimeoutMs,
          final: hookOptions.final === true,
        });
        const instance = facts.instance as Record<string, HookCall>;
        calls.set(key, (context) => instance[method](context));
      }
      if (node.hooks.length === 0) continue;
      nodes.push(node);
      nodeOf.set(wrapper, node);
    }
    return { graph: { nodes, edges: this.edgesBetween(nodeOf) }, calls };
  }

  /** For each provider with hooks, the providers with hooks it reaches directly or through providers without. */
  private edgesBetween(nodeOf: Map<ProviderHandle, ProviderNode>): DependencyEdge[] {
    const edges: DependencyEdge[] = [];
    const seenFrom = new Map<ProviderHandle, ProviderNode>();
    const stack: ProviderHandle[] = [];
    for (const [wrapper, node] of nodeOf) {
      seenFrom.set(wrapper, node);
      stack.push(...dependenciesOf(wrapper));
      while (stack.length > 0) {
        const next = stack.pop()!;
        if (seenFrom.get(next) === node) continue;
        seenFrom.set(next, node);
        const target = nodeOf.get(next);
        if (target) edges.push({ dependent: node.id, dependency: target.id });
        else stack.push(...dependenciesOf(next));
      }
    }
    return edges;
  }

  /** The `@OnShutdown()` methods of a prototype: the list the decorator recorded on the class, checked method by method. */
  private hookMethods(prototype: Record<string, HookCall>): Array<[string, OnShutdownOptions]> {
    const methods: Array<[string, OnShutdownOptions]> = [];
    for (const method of recordedMethods(prototype, ON_SHUTDOWN_METHODS)) {
      // An override without the decorator is no hook.
      const hookOptions = typeof prototype[method] === 'function' ? this.accessor.getOptions(prototype[method]) : undefined;
      if (hookOptions) methods.push([method, hookOptions]);
    }
    return methods;
  }
}
