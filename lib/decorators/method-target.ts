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

/**
 * Records, on the class, that `key` carries the decorator whose list is
 * `listKey`, so that discovery reads one list per provider instead of
 * scanning every method of every provider. Subclasses inherit the list.
 */
export function recordMethod(target: object, key: string | symbol, listKey: string): void {
  if (typeof key !== 'string') return;
  const inherited = (Reflect.getMetadata(listKey, target) as string[] | undefined) ?? [];
  if (!inherited.includes(key)) Reflect.defineMetadata(listKey, [...inherited, key], target);
}

/** The methods recorded under `listKey` on a prototype or its ancestors. */
export function recordedMethods(prototype: object, listKey: string): readonly string[] {
  return (Reflect.getMetadata(listKey, prototype) as string[] | undefined) ?? [];
}
