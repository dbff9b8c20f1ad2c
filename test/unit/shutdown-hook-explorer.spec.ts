/**
 * The explorer builds its graph lazily and by index (issue 18): it must
 * find exactly what a plain reading of every provider finds. The reference
 * below reads every provider and controller the simple way (reflect-metadata,
 * the injector's metadata, string ids and edge objects, as the explorer did
 * before) and both graphs, and both plans, must agree on generated apps.
 */
import 'reflect-metadata';
import { Controller, Inject, Injectable, Module, Scope, forwardRef, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { DiscoveryService, NestFactory } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { OnShutdown } from '../../lib/decorators/on-shutdown.decorator.js';
import { ShutdownHookExplorer } from '../../lib/discovery/shutdown-hook.explorer.js';
import { ON_SHUTDOWN_METADATA, ON_SHUTDOWN_METHODS } from '../../lib/graceful.constants.js';
import { GracefulModule } from '../../lib/graceful.module.js';
import { buildStopPlan } from '../../lib/graph/stop-plan.rules.js';
import type { HookSpec, IndexedProviderGraph, ProviderGraph, StopPlan } from '../../lib/graph/stop-plan.types.js';
import type { OnShutdownOptions } from '../../lib/interfaces/on-shutdown-options.interface.js';
import { GracefulLifecycleService } from '../../lib/lifecycle/graceful-lifecycle.service.js';

const HOOK_TIMEOUT_MS = 1234;

/** mulberry32: every run generates the same apps. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An app of `count` providers over a few modules: classes with and without
 * hooks (one or two, some of another order, some final), subclasses that
 * inherit hooks or override one without the decorator, factory providers,
 * aliases, request-scoped and transient providers with hooks (warned about,
 * not planned), a controller with a hook, and a cycle through forwardRef.
 */
function generatedApp(seed: number, count: number): DynamicModule {
  const next = random(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)];
  const classes: Type[] = [];
  const providers: Provider[][] = [[], [], []];
  const hookOptions = (): OnShutdownOptions => {
    const roll = next();
    if (roll < 0.6) return {};
    if (roll < 0.75) return { order: pick([1, 2]) };
    if (roll < 0.85) return { final: true };
    return { timeout: 10 + Math.floor(next() * 100) };
  };
  class Hooked {
    @OnShutdown({ order: 1 })
    inherited() {}
    @OnShutdown()
    overridden() {}
  }
  for (let i = 0; i < count; i++) {
    const deps = classes.length > 0 ? [...new Set(Array.from({ length: Math.floor(next() * 3) }, () => pick(classes)))] : [];
    const kind = next();
    const base: Type = kind < 0.15 ? Hooked : Object;
    const name = `P${i}`;
    const generated = {
      [name]: class extends (base as new () => object) {
        constructor(...injected: unknown[]) {
          super();
          void injected;
        }
      },
    }[name] as Type & { prototype: Record<string, unknown> };
    if (base === Hooked && next() < 0.5) {
      // An override without the decorator is no hook.
      generated.prototype.overridden = function overridden() {};
    }
    const hooks = kind < 0.15 ? 0 : kind < 0.5 ? 0 : kind < 0.85 ? 1 : 2;
    for (let h = 0; h < hooks; h++) {
      const method = `stop${h}`;
      const descriptor = { value: function stop() {}, writable: true, configurable: true, enumerable: false };
      Object.defineProperty(generated.prototype, method, descriptor);
      OnShutdown(hookOptions())(generated.prototype, method, descriptor);
    }
    const scope = next() < 0.05 ? Scope.REQUEST : next() < 0.05 ? Scope.TRANSIENT : undefined;
    Injectable(scope ? { scope } : undefined)(generated);
    Reflect.defineMetadata('design:paramtypes', deps, generated);
    classes.push(generated);
    const module = providers[Math.floor((i * providers.length) / count)];
    module.push(generated);
    if (next() < 0.1) {
      // A factory provider whose instance has hooks, depending on a class.
      const dependency = pick(classes);
      module.push({ provide: `FACTORY_${i}`, useFactory: () => new generated(), inject: [dependency] });
    }
    if (next() < 0.05) module.push({ provide: `ALIAS_${i}`, useExisting: generated });
  }
  @Injectable()
  class CycleB {
    constructor(@Inject(forwardRef(() => CycleA)) readonly a: unknown) {}
    @OnShutdown()
    stop() {}
  }
  @Injectable()
  class CycleA {
    constructor(@Inject(forwardRef(() => CycleB)) readonly b: unknown) {}
    @OnShutdown()
    stop() {}
  }
  @Controller()
  class HookedController {
    constructor(readonly a: CycleA) {}
    @OnShutdown({ order: 1 })
    stop() {}
  }
  const modules: DynamicModule[] = [];
  providers.forEach((members, m) => {
    const moduleClass = { [`Generated${m}`]: class {} }[`Generated${m}`];
    Module({})(moduleClass);
    modules.push({ module: moduleClass, global: true, providers: members, exports: members });
  });
  class CycleModule {}
  Module({ providers: [CycleA, CycleB], controllers: [HookedController] })(CycleModule);
  class AppModule {}
  Module({})(AppModule);
  return { module: AppModule, imports: [GracefulModule.forRoot({ signals: [], logger: false, hookTimeoutMs: HOOK_TIMEOUT_MS }), ...modules, CycleModule] };
}

/** The graph as a plain reading of every provider finds it. */
function referenceGraph(discovery: DiscoveryService): ProviderGraph {
  const wrappers: InstanceWrapper[] = [...discovery.getProviders(), ...discovery.getControllers()];
  const nodes: ProviderGraph['nodes'] = [];
  const nodeOf = new Map<InstanceWrapper, ProviderGraph['nodes'][number]>();
  for (const wrapper of wrappers) {
    if (wrapper.isAlias || wrapper.isTransient || !wrapper.isDependencyTreeStatic()) continue;
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || typeof instance !== 'object') continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    const methods = ((Reflect.getMetadata(ON_SHUTDOWN_METHODS, prototype) as string[] | undefined) ?? []).filter(
      (method) => typeof prototype[method] === 'function' && Reflect.getMetadata(ON_SHUTDOWN_METADATA, prototype[method] as object),
    );
    if (methods.length === 0) continue;
    const id = String(nodes.length);
    const name = instance.constructor.name;
    const hooks: HookSpec[] = methods.map((method) => {
      const options = Reflect.getMetadata(ON_SHUTDOWN_METADATA, prototype[method] as object) as OnShutdownOptions;
      return {
        key: `${id}:${method}`,
        name: `${name}.${method}`,
        order: options.order ?? 0,
        timeoutMs: options.timeout ?? HOOK_TIMEOUT_MS,
        final: options.final === true,
      };
    });
    const node = { id, name, hooks };
    nodes.push(node);
    nodeOf.set(wrapper, node);
  }
  const edges: ProviderGraph['edges'] = [];
  const dependencies = (wrapper: InstanceWrapper): InstanceWrapper[] => [
    ...(wrapper.getCtorMetadata?.() ?? []).filter(Boolean),
    ...(wrapper.getPropertiesMetadata?.() ?? []).map((property) => property.wrapper).filter(Boolean),
  ];
  for (const [wrapper, node] of nodeOf) {
    const seen = new Set<InstanceWrapper>([wrapper]);
    const stack = dependencies(wrapper);
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      const target = nodeOf.get(next);
      if (target) edges.push({ dependent: node.id, dependency: target.id });
      else stack.push(...dependencies(next));
    }
  }
  return { nodes, edges };
}

/** A graph as plain data: nodes with their hooks' every field, edges as sorted `dependent>dependency` pairs. */
function plainGraph(graph: ProviderGraph | IndexedProviderGraph) {
  const nodes = graph.nodes.map((node) => ({
    id: node.id,
    name: node.name,
    hooks: node.hooks.map((hook) => ({ key: hook.key, name: hook.name, order: hook.order, timeoutMs: hook.timeoutMs, final: hook.final })),
  }));
  const edges =
    'edges' in graph
      ? graph.edges.map((edge) => `${edge.dependent}>${edge.dependency}`)
      : graph.dependencies.flatMap((targets, i) => targets.map((target) => `${graph.nodes[i].id}>${graph.nodes[target].id}`));
  return { nodes, edges: [...new Set(edges)].sort() };
}

function planOf(graph: ProviderGraph, final: boolean): StopPlan {
  return buildStopPlan({ nodes: graph.nodes.map((node) => ({ ...node, hooks: node.hooks.filter((hook) => hook.final === final) })), edges: graph.edges });
}

describe('ShutdownHookExplorer', () => {
  it.each([1, 2, 3, 4, 5])('finds the same hooks, dependencies and plan as a plain reading of every provider (generated app %i)', async (seed) => {
    const app = await NestFactory.createApplicationContext(generatedApp(seed, 150), { logger: false });
    try {
      const reference = referenceGraph(app.get(DiscoveryService, { strict: false }));
      // Enough of everything to mean something.
      expect(reference.nodes.length).toBeGreaterThan(50);
      expect(reference.edges.length).toBeGreaterThan(20);
      expect(new Set(reference.nodes.flatMap((node) => node.hooks.map((hook) => hook.order))).size).toBeGreaterThan(1);
      expect(reference.nodes.some((node) => node.hooks.some((hook) => hook.final))).toBe(true);

      const explored = app.get(ShutdownHookExplorer, { strict: false }).explore();
      expect(plainGraph(explored.graph)).toEqual(plainGraph(reference));
      for (const node of reference.nodes) for (const hook of node.hooks) expect(explored.calls.get(hook.key)).toEqual(expect.any(Function));
      expect(explored.calls.get('0:noSuchMethod')).toBeUndefined();

      const lifecycle = app.get(GracefulLifecycleService, { strict: false });
      expect(lifecycle.plan()).toEqual(planOf(reference, false));
      expect(lifecycle.finalPlan()).toEqual(planOf(reference, true));
      expect(lifecycle.plan().warnings.map((warning) => warning.kind)).toContain('cycle');
    } finally {
      await app.close();
    }
  });
});
