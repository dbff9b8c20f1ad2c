import { SetMetadata } from '@nestjs/common';
import { ON_SHUTDOWN_METADATA, ON_SHUTDOWN_METHODS } from '../graceful.constants.js';
import { MESSAGES } from '../graceful.messages.js';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { duration } from '../options/graceful-options.resolver.js';
import type { OnShutdownOptions } from '../interfaces/on-shutdown-options.interface.js';
import { methodTarget, recordMethod, recordOptions } from './method-target.js';

/**
 * Marks a method of a provider or controller as a shutdown hook. It runs
 * after the HTTP drain and before Nest's own `onModuleDestroy`, after every
 * provider that depends on its class, and receives a `ShutdownContext`.
 *
 * @example
 * ```ts
 * @OnShutdown({ timeout: 3000 })
 * async close({ signal }: ShutdownContext) { await this.pool.end(); }
 * ```
 */
export function OnShutdown(options: OnShutdownOptions = {}): MethodDecorator {
  return (target, key, descriptor) => {
    const where = methodTarget(target, key, descriptor, MESSAGES);
    if (options === null || typeof options !== 'object') {
      throw new InvalidGracefulOptionsError(MESSAGES.invalidHookOption(where, 'options', options, 'an object such as { order: 1, timeout: 3000 }'));
    }
    const { order, timeout, final } = options;
    if (final !== undefined && typeof final !== 'boolean') {
      throw new InvalidGracefulOptionsError(MESSAGES.invalidHookOption(where, 'final', final, 'true or false'));
    }
    if (order !== undefined && (typeof order !== 'number' || !Number.isFinite(order))) {
      throw new InvalidGracefulOptionsError(MESSAGES.invalidHookOption(where, 'order', order, 'a finite number'));
    }
    if (timeout !== undefined) {
      try {
        duration('timeout', timeout, 0, { positive: true });
      } catch {
        throw new InvalidGracefulOptionsError(MESSAGES.invalidHookOption(where, 'timeout', timeout, 'a finite number of milliseconds above 0'));
      }
    }
    const stored = { ...options };
    recordMethod(target, key, ON_SHUTDOWN_METHODS);
    recordOptions(descriptor!.value as object, ON_SHUTDOWN_METADATA, stored);
    return SetMetadata(ON_SHUTDOWN_METADATA, stored)(target, key, descriptor);
  };
}
