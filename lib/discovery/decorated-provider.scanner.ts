import { Injectable } from '@nestjs/common';
import { DiscoveryService, ModulesContainer } from '@nestjs/core';
import { methodsPrototype, type ProviderHandle } from '../adapter/nest.adapter.js';
import { recordedLists, type RecordedLists } from '../decorators/method-target.js';
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

/**
 * One pass over every provider and controller for all the module's method
 * decorators: at 16,000 providers each pass costs milliseconds, and the
 * `@OnShutdown()` and `@WarmUp()` explorers and the `@OnDrain()` lookup would make one each. What a pass
 * finds for an explorer is handed to it once and then let go; a module
 * added since (a lazily loaded one) makes the next ask scan again.
 */
@Injectable()
export class DecoratedProviderScanner {
  private pending = new Map<string, DecoratedProvider[]>();
  private scannedModules = -1;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly modules: ModulesContainer,
  ) {}

  /** The providers and controllers with methods recorded under `listKey`, in registration order (providers first). */
  take(listKey: (typeof KEPT)[number]): DecoratedProvider[] {
    let found = this.scannedModules === this.modules.size ? this.pending.get(listKey) : undefined;
    if (!found) {
      this.scan();
      found = this.pending.get(listKey)!;
    }
    this.pending.delete(listKey);
    return found;
  }

  /** How many modules the container holds: a lazily loaded module makes it grow. */
  get moduleCount(): number {
    return this.modules.size;
  }

  private scan(): void {
    this.pending = new Map(KEPT.map((key) => [key, []]));
    this.scannedModules = this.modules.size;
    this.visit(this.discovery.getProviders());
    this.visit(this.discovery.getControllers());
  }

  private visit(wrappers: ProviderHandle[]): void {
    for (const wrapper of wrappers) {
      const prototype = methodsPrototype(wrapper);
      // One walk up the prototype chain: most providers stop here.
      const lists = prototype && recordedLists(prototype);
      if (!lists) continue;
      for (const key of KEPT) if (lists[key]) this.pending.get(key)!.push({ wrapper, prototype, lists });
    }
  }
}
