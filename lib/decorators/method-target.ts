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

/** The lists a class's decorators recorded, by list key (its ancestors' included). */
export type RecordedLists = Readonly<Record<string, readonly string[]>>;

/**
 * The recorded lists by class prototype, shared by every copy of this
 * package in the process (a monorepo can load two). A weak map read along
 * the prototype chain: the scan of every provider at startup costs a few
 * lookups each, where reflect-metadata's `getMetadata` costs many.
 */
const RECORDED = Symbol.for('nestjs-graceful.recorded-methods');
const recorded: WeakMap<object, Record<string, readonly string[]>> = ((globalThis as Record<symbol, unknown>)[RECORDED] as
  WeakMap<object, Record<string, readonly string[]>> | undefined) ??
((globalThis as Record<symbol, unknown>)[RECORDED] = new WeakMap<object, Record<string, readonly string[]>>());

const NONE: readonly string[] = Object.freeze([]);

/**
 * The list keys some class in the process was decorated under, shared like
 * the lists: a decorator no class uses costs the startup no scan.
 */
const KEYS = Symbol.for('nestjs-graceful.recorded-keys');
const recordedKeys: Set<string> =
  ((globalThis as Record<symbol, unknown>)[KEYS] as Set<string> | undefined) ?? ((globalThis as Record<symbol, unknown>)[KEYS] = new Set<string>());

/** Some class in the process has a method recorded under `listKey`. */
export function anyRecorded(listKey: string): boolean {
  return recordedKeys.has(listKey);
}

/**
 * Records, on the class, that `key` carries the decorator whose list is
 * `listKey`, so that discovery reads one list per provider instead of
 * scanning every method of every provider. Subclasses inherit the list.
 * Also written as metadata under `listKey`, for whoever reads it there.
 */
export function recordMethod(target: object, key: string | symbol, listKey: string): void {
  if (typeof key !== 'string') return;
  const inherited = recordedMethods(target, listKey);
  if (inherited.includes(key)) return;
  const list = [...inherited, key];
  let own = recorded.get(target);
  if (!own) recorded.set(target, (own = {}));
  own[listKey] = list;
  recordedKeys.add(listKey);
  Reflect.defineMetadata(listKey, list, target);
}

/**
 * The options a decorator was given, by the decorated function, shared like
 * the lists: one weak-map lookup per method where reflect-metadata takes
 * many (8,000 of them at startup in a large app). Also written as metadata.
 */
const OPTIONS = Symbol.for('nestjs-graceful.method-options');
const optionsOf: WeakMap<object, Record<string, unknown>> = ((globalThis as Record<symbol, unknown>)[OPTIONS] as
  WeakMap<object, Record<string, unknown>> | undefined) ?? ((globalThis as Record<symbol, unknown>)[OPTIONS] = new WeakMap<object, Record<string, unknown>>());

export function recordOptions(method: object, metadataKey: string, options: object): void {
  let own = optionsOf.get(method);
  if (!own) optionsOf.set(method, (own = {}));
  own[metadataKey] = options;
}

/** What `recordOptions` kept for `method`, or undefined (then the metadata may still hold some). */
export function recordedOptions<T>(method: object, metadataKey: string): T | undefined {
  return optionsOf.get(method)?.[metadataKey] as T | undefined;
}

/** The methods recorded under `listKey` on a prototype or its ancestors. */
export function recordedMethods(prototype: object, listKey: string): readonly string[] {
  for (let p: object | null = prototype; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const list = recorded.get(p)?.[listKey];
    if (list) return list;
  }
  return NONE;
}

/**
 * Every list recorded on a prototype or its ancestors, or undefined when
 * none is (most providers): one walk up the chain for all the decorators.
 */
export function recordedLists(prototype: object): RecordedLists | undefined {
  let found: Record<string, readonly string[]> | undefined;
  let merged = false;
  for (let p: object | null = prototype; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const own = recorded.get(p);
    if (!own) continue;
    if (!found) {
      found = own;
      continue;
    }
    // The nearest list of each key is the whole one: a subclass's list starts with what it inherited.
    if (!merged) {
      found = { ...found };
      merged = true;
    }
    for (const listKey in own) found[listKey] ??= own[listKey];
  }
  return found;
}
