/**
 * Generated applications for the benchmarks: providers spread over modules
 * that import each other in a chain, each provider a factory that depends on
 * earlier ones, with its stop work either as an `@OnShutdown()` hook (module)
 * or as `onModuleDestroy` (plain Nest).
 */
import 'reflect-metadata';
import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { GracefulModule, OnShutdown, type GracefulModuleOptions } from 'nestjs-graceful';

export interface GeneratedProvider {
  id: number;
  module: number;
  deps: number[];
  /** Whether it has stop work at all. */
  stops: boolean;
}

/** A small, seeded PRNG (mulberry32), so that every run measures the same graph. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` providers over `modules` modules, each depending on up to two earlier ones, no chain longer than `maxChain`. */
export function generateHookGraph(seed: number, count = 50, modules = 8, maxChain = 6): GeneratedProvider[] {
  const next = random(seed);
  const depth: number[] = [];
  const providers: GeneratedProvider[] = [];
  for (let id = 0; id < count; id++) {
    const candidates = providers.filter((p) => depth[p.id] < maxChain - 1).map((p) => p.id);
    const deps = new Set<number>();
    const wanted = Math.floor(next() * 3);
    for (let k = 0; k < wanted && candidates.length > 0; k++) deps.add(candidates[Math.floor(next() * candidates.length)]);
    depth[id] = 1 + Math.max(0, ...[...deps].map((d) => depth[d]));
    providers.push({ id, module: Math.floor((id * modules) / count), deps: [...deps], stops: true });
  }
  return providers;
}

/** `count` providers in chains of `chain`, every other one with stop work. */
export function generateChains(count: number, modules: number, chain = 10): GeneratedProvider[] {
  return Array.from({ length: count }, (_, id) => ({
    id,
    module: Math.floor((id * modules) / count),
    deps: id % chain === 0 ? [] : [id - 1],
    stops: id % 2 === 0,
  }));
}

/** The longest chain of providers with stop work, times `hookMs`: the lower bound of a concurrent shutdown. */
export function criticalPathMs(providers: GeneratedProvider[], hookMs: number): number {
  const longest: number[] = [];
  for (const p of providers) longest[p.id] = (p.stops ? 1 : 0) + Math.max(0, ...p.deps.map((d) => longest[d]));
  // Chains run from dependents to dependencies; their length is the same either way.
  return Math.max(0, ...longest) * hookMs;
}

export interface StopEvent {
  id: number;
  kind: 'start' | 'end';
}

export interface BuildOptions {
  graceful: boolean;
  hookMs: number;
  events?: StopEvent[];
  /** The module's options; by default silent, no signals, no drain (the scheduling benchmarks). */
  moduleOptions?: GracefulModuleOptions;
  /**
   * One class per provider, injected through its constructor, as in a real
   * app (Nest reads the parameter types); by default factories sharing three classes.
   */
  classes?: boolean;
}

const token = (id: number) => `UNIT_${id}`;

export function buildAppModule(providers: GeneratedProvider[], options: BuildOptions): DynamicModule {
  const stop = async (id: number) => {
    options.events?.push({ id, kind: 'start' });
    if (options.hookMs > 0) await sleep(options.hookMs);
    options.events?.push({ id, kind: 'end' });
  };
  class Unit {
    constructor(readonly id: number) {}
  }
  class GracefulUnit extends Unit {
    @OnShutdown({ timeout: 60_000 })
    stop() {
      return stop(this.id);
    }
  }
  class PlainUnit extends Unit {
    onModuleDestroy() {
      return stop(this.id);
    }
  }
  const StopUnit = options.graceful ? GracefulUnit : PlainUnit;
  const classOf: Array<new (...deps: unknown[]) => object> = [];
  const providerOf = (p: GeneratedProvider) => {
    if (!options.classes) {
      return { provide: token(p.id), useFactory: () => (p.stops ? new StopUnit(p.id) : new Unit(p.id)), inject: p.deps.map(token) };
    }
    const Base = p.stops ? StopUnit : Unit;
    const name = `Unit${p.id}`;
    const generated = {
      [name]: class extends Base {
        constructor(...deps: unknown[]) {
          super(p.id);
          void deps;
        }
      },
    }[name];
    Injectable()(generated);
    Reflect.defineMetadata(
      'design:paramtypes',
      p.deps.map((d) => classOf[d]),
      generated,
    );
    classOf[p.id] = generated;
    return generated;
  };
  const moduleCount = Math.max(...providers.map((p) => p.module)) + 1;
  const modules: DynamicModule[] = [];
  for (let m = 0; m < moduleCount; m++) {
    const members = providers.filter((p) => p.module === m);
    const moduleClass = { [`Generated${m}Module`]: class {} }[`Generated${m}Module`];
    Module({})(moduleClass);
    modules.push({
      module: moduleClass,
      imports: [...modules],
      providers: members.map(providerOf),
      exports: members.map((p) => (options.classes ? classOf[p.id] : token(p.id))),
    });
  }
  class GeneratedAppModule {}
  Module({})(GeneratedAppModule);
  return {
    module: GeneratedAppModule,
    imports: [...(options.graceful ? [GracefulModule.forRoot(options.moduleOptions ?? { signals: [], logger: false, drainTimeoutMs: 0 })] : []), ...modules],
  };
}

/** Pairs (dependent, dependency) where the dependency began to stop before the dependent had finished. */
export function orderViolations(providers: GeneratedProvider[], events: StopEvent[]): number {
  const at = (id: number, kind: 'start' | 'end') => events.findIndex((e) => e.id === id && e.kind === kind);
  let violations = 0;
  for (const p of providers) {
    for (const d of p.deps) if (p.stops && providers[d].stops && at(d, 'start') < at(p.id, 'end')) violations++;
  }
  return violations;
}
