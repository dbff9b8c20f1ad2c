import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';

/**
 * What a method decorator of the module was put on, as `Class.method`;
 * throws, with the decorator's own words, when it is not an instance method.
 */
export function methodTarget(
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor | undefined,
  messages: { staticMethod(where: string): string; notAMethod(where: string): string },
): string {
  const owner = typeof target === 'function' ? target.name : target.constructor.name;
  const where = `${owner}.${String(key)}`;
  if (typeof target === 'function') throw new InvalidGracefulOptionsError(messages.staticMethod(where));
  if (!descriptor || typeof descriptor.value !== 'function') throw new InvalidGracefulOptionsError(messages.notAMethod(where));
  return where;
}
