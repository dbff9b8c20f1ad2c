import { Inject, Injectable } from '@nestjs/common';
import { providerFacts } from '../adapter/nest.adapter.js';
import { recordedMethods } from '../decorators/method-target.js';
import { DEFAULT_WARM_UP_TIMEOUT_MS, GRACEFUL_MODULE_OPTIONS, WARM_UP_METHODS } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { WarmUpContext } from '../interfaces/warm-up-options.interface.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { DecoratedProviderScanner } from './decorated-provider.scanner.js';
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
    private readonly scanner: DecoratedProviderScanner,
    private readonly accessor: WarmUpAccessor,
    @Inject(GRACEFUL_MODULE_OPTIONS) options: ResolvedGracefulOptions,
  ) {
    this.logger = createGracefulLogger(options.logger, WarmUpExplorer.name);
  }

  /** The warm-ups, found by the scan that also found the hooks at init (most apps have none). */
  explore(): WarmUpMethod[] {
    const found: WarmUpMethod[] = [];
    for (const { wrapper, prototype: candidate, lists } of this.scanner.take(WARM_UP_METHODS)) {
      const facts = providerFacts(wrapper);
      const prototype = facts.prototype as Record<string, Method> | undefined;
      if (facts.isAlias || !prototype) continue;
      const methods = prototype === candidate ? lists[WARM_UP_METHODS] : recordedMethods(prototype, WARM_UP_METHODS);
      for (const method of methods) {
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
