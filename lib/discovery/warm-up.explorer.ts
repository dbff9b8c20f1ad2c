import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { methodsPrototype, providerFacts, type ProviderHandle } from '../adapter/nest.adapter.js';
import { recordedMethods } from '../decorators/method-target.js';
import { DEFAULT_WARM_UP_TIMEOUT_MS, GRACEFUL_MODULE_OPTIONS, WARM_UP_METHODS } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { WarmUpContext } from '../interfaces/warm-up-options.interface.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { WarmUpAccessor } from './warm-up.accessor.js';

/** A `@WarmUp()` method found on a singleton, ready to call. */
export interface WarmUpMethod {
  /** `Class.method` */
  name: string;
  timeoutMs: number;
  call(context: WarmUpContext): unknown;
}

type Method = (context: WarmUpContext) => unknown;

/** Finds every `@WarmUp()` method of the application's providers and controllers. */
@Injectable()
export class WarmUpExplorer {
  private readonly logger;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly accessor: WarmUpAccessor,
    @Inject(GRACEFUL_MODULE_OPTIONS) options: ResolvedGracefulOptions,
  ) {
    this.logger = createGracefulLogger(options.logger, WarmUpExplorer.name);
  }

  explore(): WarmUpMethod[] {
    const wrappers: ProviderHandle[] = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    const found: WarmUpMethod[] = [];
    for (const wrapper of wrappers) {
      const candidate = methodsPrototype(wrapper);
      // One metadata lookup for most providers: those without a @WarmUp() method stop here.
      if (!candidate || recordedMethods(candidate, WARM_UP_METHODS).length === 0) continue;
      const facts = providerFacts(wrapper);
      const prototype = facts.prototype as Record<string, Method> | undefined;
      if (facts.isAlias || !prototype) continue;
      for (const method of recordedMethods(prototype, WARM_UP_METHODS)) {
        // An override without the decorator is no warm-up.
        const options = typeof prototype[method] === 'function' ? this.accessor.getOptions(prototype[method]) : undefined;
        if (!options) continue;
        const name = `${facts.name}.${method}`;
        if (!facts.isSingleton) {
          this.logger.warn(MESSAGES.warmUpNonStatic(name));
          continue;
        }
        const instance = facts.instance as Record<string, Method>;
        found.push({ name, timeoutMs: options.timeout ?? DEFAULT_WARM_UP_TIMEOUT_MS, call: (context) => instance[method](context) });
      }
    }
    return found;
  }
}
