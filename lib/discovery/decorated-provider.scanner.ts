import { Injectable } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { methodsPrototype, type HookTimer, type ProviderHandle } from '../adapter/nest.adapter.js';
import { anyRecorded, recordedLists, type RecordedLists } from '../decorators/method-target.js';
import { ON_DRAIN_METHODS, ON_SHUTDOWN_METHODS, WARM_UP_METHODS } from '../graceful.constants.js';

/** A provider or controller with a method of one of the module's decorators, as the scan found it. */
export interface DecoratedProvider {
  wrapper: ProviderHandle;
  /** Where its methods are: its instance's prototype, else its class's. */
  prototype: object;
  /** The methods recorded by each decorator, by list key. */
  lists: RecordedLists;
}

/** The lists the explorers ask for; the scan keeps what it found of these until each is asked for once. */
const KEPT = [ON_SHUTDOWN_METHODS, WARM_UP_METHODS, ON_DRAIN_METHODS] as const;

type ListKey = (typeof KEPT)[number];

/** The lists the startup asks for before it ends: the warm-ups, run once the application serves, and the `@OnDrain()` sources readiness waits on. */
const STARTUP_LISTS = [WARM_UP_METHODS, ON_DRAIN_METHODS];

/** What one pass found, by list key, until each is taken; and how many modules the container held then. */
interface Scan {
  modules: number;
  found: Map<string, DecoratedProvider[]>;
}

/** The last pass over each application's container. */
const scans = new WeakMap<ModulesContainer, Scan>();

/**
 * The pass over every provider and controller for the module's method
 * decorators, all at once, and with `time` (at the start of `init()`, before
 * Nest calls any lifecycle hook) for the lifecycle hooks the startup times:
 * at 16,000 providers each pass costs milliseconds. The timed pass collects
 * the decorated methods only when the startup itself will ask for some (a
 * class with `@WarmUp()` or `@OnDrain()` exists); the `@OnShutdown()` hooks
 * are asked for just after the start otherwise (lib/shutdown/shutdown.planner.ts),
 * and that pass, out of the startup, finds them. Providers first, then
 * controllers, in registration order.
 */
export function scanProviders(modules: ModulesContainer, time?: HookTimer): void {
  const collect = !time || STARTUP_LISTS.some(anyRecorded);
  const found = collect ? new Map<string, DecoratedProvider[]>(KEPT.map((key) => [key, []])) : undefined;
  // Plain loops: this runs once per provider, 16,000 times in a large app.
  for (const module of modules.values()) visit(module.providers.values(), found, time);
  for (const module of modules.values()) visit(module.controllers.values(), found, time);
  if (found) scans.set(modules, { modules: modules.size, found });
  else scans.delete(modules);
}

function visit(wrappers: Iterable<ProviderHandle>, found: Map<string, DecoratedProvider[]> | undefined, time: HookTimer | undefined): void {
  for (const wrapper of wrappers) {
    const prototype = methodsPrototype(wrapper, time);
    if (!found) continue;
    // One walk up the prototype chain: most providers stop here.
    const lists = prototype && recordedLists(prototype);
    if (!lists) continue;
    for (const key of KEPT) if (lists[key]) found.get(key)!.push({ wrapper, prototype, lists });
  }
}

/**
 * Hands each explorer (`@OnShutdown()`, `@WarmUp()`, the `@OnDrain()`
 * lookup) what the one pass found for it, once; then it is let go, and only
 * the providers it named are remembered (a reference each), so that a second
 * ask (the shutdown planning again what the startup let go) reads those
 * providers again instead of every provider. A module added since (a lazily
 * loaded one) makes it scan again.
 */
@Injectable()
export class DecoratedProviderScanner {
  private readonly taken = new Map<ListKey, { modules: number; wrappers: ProviderHandle[] }>();

  constructor(private readonly modules: ModulesContainer) {}

  /** The providers and controllers with methods recorded under `listKey`, in registration order (providers first). */
  take(listKey: ListKey): DecoratedProvider[] {
    // No class in the process has the decorator: nothing to scan for.
    if (!anyRecorded(listKey)) return [];
    const before = this.taken.get(listKey);
    let scan = scans.get(this.modules);
    if (before?.modules === this.modules.size && !(scan?.modules === this.modules.size && scan.found.has(listKey))) {
      return this.again(before.wrappers);
    }
    if (!scan || scan.modules !== this.modules.size || !scan.found.has(listKey)) {
      scanProviders(this.modules);
      scan = scans.get(this.modules)!;
    }
    const found = scan.found.get(listKey)!;
    scan.found.delete(listKey);
    this.taken.set(listKey, { modules: this.modules.size, wrappers: found.map((provider) => provider.wrapper) });
    return found;
  }

  /**
   * What the first `take` of `listKey` found, read again (their prototypes
   * and lists), whatever was loaded since: a plan made again at the
   * shutdown plans what the startup planned (a lazily loaded module's hooks
   * are not run, as before). Never taken: a first `take`.
   */
  retake(listKey: ListKey): DecoratedProvider[] {
    const before = this.taken.get(listKey);
    return before ? this.again(before.wrappers) : this.take(listKey);
  }

  /** The providers a first ask found, read again (their prototypes and lists). */
  private again(wrappers: readonly ProviderHandle[]): DecoratedProvider[] {
    const found: DecoratedProvider[] = [];
    for (const wrapper of wrappers) {
      const prototype = methodsPrototype(wrapper);
      const lists = prototype && recordedLists(prototype);
      if (lists) found.push({ wrapper, prototype, lists });
    }
    return found;
  }

  /** How many modules the container holds: a lazily loaded module makes it grow. */
  get moduleCount(): number {
    return this.modules.size;
  }
}
