import { SetMetadata } from '@nestjs/common';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { WARM_UP_METADATA, WARM_UP_METHODS } from '../graceful.constants.js';
import { MESSAGES } from '../graceful.messages.js';
import type { WarmUpOptions } from '../interfaces/warm-up-options.interface.js';
import { duration } from '../options/graceful-options.resolver.js';
import { methodTarget, recordMethod } from './method-target.js';

/**
 * Marks a method that must end before the application takes traffic (fill
 * a cache, compile templates, wait for a broker). Every warm-up starts once
 * the application serves (after `listen()`), all of them at once; readiness
 * stays down (state `starting`) until each has ended. It receives a
 * `WarmUpContext` whose signal aborts at its timeout or when the shutdown
 * starts first. A warm-up that throws or times out keeps readiness down.
 *
 * @example
 * ```ts
 * @WarmUp({ timeout: 30000 })
 * async fillCache({ signal }: WarmUpContext) { await this.cache.load({ signal }); }
 * ```
 */
export function WarmUp(options: WarmUpOptions = {}): MethodDecorator {
  return (target, key, descriptor) => {
    const where = methodTarget(target, key, descriptor, { staticMethod: MESSAGES.warmUpStatic, notAMethod: MESSAGES.warmUpNotAMethod });
    if (options === null || typeof options !== 'object') {
      throw new InvalidGracefulOptionsError(MESSAGES.invalidWarmUpOption(where, 'options', options, 'an object such as { timeout: 30000 }'));
    }
    for (const option of Object.keys(options)) {
      if (option !== 'timeout')
        throw new InvalidGracefulOptionsError(
          MESSAGES.invalidWarmUpOption(where, option, options[option as keyof WarmUpOptions], 'left out: @WarmUp() takes only "timeout"'),
        );
    }
    if (options.timeout !== undefined) {
      try {
        duration('timeout', options.timeout, 0, { positive: true });
      } catch {
        throw new InvalidGracefulOptionsError(MESSAGES.invalidWarmUpOption(where, 'timeout', options.timeout, 'a finite number of milliseconds above 0'));
      }
    }
    recordMethod(target, key, WARM_UP_METHODS);
    return SetMetadata(WARM_UP_METADATA, { ...options })(target, key, descriptor);
  };
}
