import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { providerFacts } from '../adapter/nest.adapter.js';
import { GRACEFUL_MODULE_OPTIONS } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { DependencyEdge, ProviderGraph, ProviderNode } from '../graph/stop-plan.builder.js';
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
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    const ids = new Map<InstanceWrapper, string>(wrappers.map((wrapper, i) => [wrapper, String(i)]));
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
      const node: ProviderNode = { id, name: nameOf(wrapper), hooks: [] };
      nodes.push(node);
      if (facts.isAlias) continue;
      const instance = wrapper.instance as Record<string, (context: ShutdownContext) => unknown> | undefined;
      const prototype = facts.isSingleton
        ? instance && Object.getPrototypeOf(instance)
        : !wrapper.inject && typeof wrapper.metatype === 'function' ? wrapper.metatype.prototype : undefined;
      if (!prototype) continue;
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
        calls.set(key, (context) => instance![method](context));
      }
    }
    return { graph: { nodes, edges }, calls };
  }
}

function nameOf(wrapper: InstanceWrapper): string {
  const instance = wrapper.instance as object | undefined;
  const ctorName = instance && typeof instance === 'object' ? instance.constructor?.name : undefined;
  if (ctorName && ctorName !== 'Object') return ctorName;
  if (typeof wrapper.metatype === 'function' && wrapper.metatype.name && !wrapper.inject) return wrapper.metatype.name;
  return typeof wrapper.token === 'function' ? wrapper.token.name : String(wrapper.name ?? wrapper.token);
}
