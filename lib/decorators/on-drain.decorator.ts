import { SetMetadata } from '@nestjs/common';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { ON_DRAIN_METADATA, ON_DRAIN_METHODS } from '../graceful.constants.js';
import { MESSAGES } from '../graceful.messages.js';
import type { OnDrainOptions } from '../interfaces/on-drain-options.interface.js';
import { duration } from '../options/graceful-options.resolver.js';
import { methodTarget, recordMethod } from './method-target.js';

/**
 * Marks the method that stops an intake of your own (a Kafka or SQS
 * consumer, a poller): it runs at the start of the drain, together with the
 * module's own sources and before any `@OnShutdown()` hook, and receives a
 * `ShutdownContext` whose signal aborts at its timeout. The drain waits for
 * it: resolve once no new work is taken and the work taken has finished.
 *
 * @example
 * ```ts
 * @OnDrain({ timeout: 5000 })
 * async stopConsuming({ signal }: ShutdownContext) { await this.consumer.stop(); }
 * ```
 */
export function OnDrain(options: OnDrainOptions = {}): MethodDecorator {
  return (target, key, descriptor) => {
    const where = methodTarget(target, key, descriptor, { staticMethod: MESSAGES.onDrainStatic, notAMethod: MESSAGES.onDrainNotAMethod });
    if (options === null || typeof options !== 'object') {
      throw new InvalidGracefulOptionsError(MESSAGES.invalidDrainOption(where, 'options', options, 'an object such as { timeout: 5000 }'));
    }
    for (const option of Object.keys(options)) {
      if (option !== 'timeout')
        throw new InvalidGracefulOptionsError(
          MESSAGES.invalidDrainOption(where, option, options[option as keyof OnDrainOptions], 'left out: @OnDrain() takes only "timeout"'),
        );
    }
    if (options.timeout !== undefined) {
      try {
        duration('timeout', options.timeout, 0, { positive: true });
      } catch {
        throw new InvalidGracefulOptionsError(MESSAGES.invalidDrainOption(where, 'timeout', options.timeout, 'a finite number of milliseconds above 0'));
      }
    }
    recordMethod(target, key, ON_DRAIN_METHODS);
    return SetMetadata(ON_DRAIN_METADATA, { ...options })(target, key, descriptor);
  };
}
