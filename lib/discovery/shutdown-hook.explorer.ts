import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { providerFacts, type ProviderHandle } from '../adapter/nest.adapter.js';
import { GRACEFUL_MODULE_OPTIONS } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { DependencyEdge, ProviderGraph, ProviderNode } from '../graph/stop-plan.types.js';
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
    private readonly scanner: MetadataScanner,
    private readonly accessor: ShutdownHookAccessor,
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
  ) {
    this.logger = createGracefulLogger(options.logger, ShutdownHookExplorer.name);
  }

  explore(): ExploredHooks {
    const wrappers: ProviderHandle[] = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    const ids = new Map<ProviderHandle, string>(wrappers.map((wrapper, i) => [wrapper, String(i)]));
    const calls = new Map<string, HookCall>();
    const nodes: ProviderNode[] = [];
    const edges: DependencyEdge[] = [];
    for (const wrapper of wrappers) {
      const id = ids.get(wrapper)!;
      const facts = providerFacts(wrapper);
      for (const dependency of facts.dependencies) {
        const target = ids.get(dependency);
        if (target !== undefined) edges.push({ dependent: id, dependency: target });
      }
      const node: ProviderNode = { id, name: facts.name, hooks: [] };
      nodes.push(node);
      const prototype = facts.prototype as Record<string, HookCall> | undefined;
      if (facts.isAlias || !prototype) continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const hookOptions = this.accessor.getOptions(prototype[method]);
        if (!hookOptions) continue;
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
    }
    return { graph: { nodes, edges }, calls };
  }
}
