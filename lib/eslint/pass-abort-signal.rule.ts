import type { Rule } from 'eslint';
import type { TSESTree } from '@typescript-eslint/types';
import { className, hasDecorator, instanceClassOf, memberName, walk } from './nest-class.matcher.js';
import { calleeOrigin, propertyName, unwrap, type CalleeOrigin } from './source.bindings.js';

type Node = TSESTree.Node;

/** A call that takes an AbortSignal in an options object at argument `optionsAt`. */
interface Abortable {
  label: string;
  optionsAt: number;
  minArgs: number;
  /** A wait whose length the code chose: left alone in a loop that checks the signal between waits. */
  timer: boolean;
}

/**
 * The calls recognised, by where they come from. Only these: a call whose
 * options are a variable, or that comes from anywhere else, is left alone.
 */
function abortableOf(origin: CalleeOrigin | undefined): Abortable | undefined {
  if (!origin) return undefined;
  const { source, name } = origin;
  if ((source === undefined && name === 'fetch') || (source === 'undici' && name === 'fetch') || source === 'node-fetch') {
    return { label: 'fetch()', optionsAt: 1, minArgs: 1, timer: false };
  }
  if (source === 'timers/promises' && name === 'setTimeout')
    return { label: "setTimeout() from 'node:timers/promises'", optionsAt: 2, minArgs: 0, timer: true };
  if (source === 'timers/promises' && name === 'scheduler.wait') return { label: 'scheduler.wait()', optionsAt: 1, minArgs: 1, timer: true };
  if (source === 'events' && (name === 'once' || name === 'EventEmitter.once'))
    return { label: "once() from 'node:events'", optionsAt: 2, minArgs: 2, timer: false };
  if (source === 'stream/promises' && name === 'finished') return { label: "finished() from 'node:stream/promises'", optionsAt: 1, minArgs: 1, timer: false };
  return undefined;
}

const PROMISE_COMBINATORS: readonly string[] = ['all', 'allSettled', 'race', 'any'];

/**
 * In an `@OnShutdown()` method that takes its `ShutdownContext`, a wait
 * that could be cut by the hook's `signal` and is not given it: the hook
 * times out, the shutdown goes on, and the request or the wait runs on
 * behind it. Recognised, when awaited, returned, or awaited through
 * `Promise.all/allSettled/race/any([...])`:
 *
 * - `fetch(url)` and `fetch(url, { ... })` (global, undici, node-fetch);
 * - `setTimeout(ms)` and `scheduler.wait(ms)` from 'node:timers/promises'
 *   (not inside a loop whose condition checks the signal: that loop already
 *   stops at the abort);
 * - `once(emitter, event)` from 'node:events';
 * - `finished(stream)` from 'node:stream/promises'.
 *
 * An options argument that is a variable, has a `signal` property or a
 * spread counts as passing it. Hooks without a parameter are left alone.
 * Offers a suggestion that adds `{ signal }`.
 */
export const passAbortSignal: Rule.RuleModule = {
  meta: {
    type: 'suggestion',
    hasSuggestions: true,
    docs: {
      description: "Require an @OnShutdown() hook to pass its context's AbortSignal to fetch(), timers/promises, events.once() and stream finished()",
      recommended: true,
    },
    schema: [],
    messages: {
      missingSignal:
        "{{label}} in the @OnShutdown() hook {{hook}} is not given the hook's AbortSignal: when the hook times out it runs on behind the shutdown. Pass it: `{{fix}}`.",
      missingSignalNotTaken:
        "{{label}} in the @OnShutdown() hook {{hook}} is not given the hook's AbortSignal: when the hook times out it runs on behind the shutdown. Take `signal` from the ShutdownContext parameter and pass it: `{{fix}}`.",
      addSignal: 'Pass the hook signal: {{fix}}',
    },
  },
  create(context) {
    return {
      MethodDefinition(node: Rule.Node) {
        const method = node as unknown as TSESTree.MethodDefinition;
        if (method.static || !hasDecorator(method, ['OnShutdown'])) return;
        const signal = signalOf(method.value.params[0]);
        if (!signal) return;
        const klass = instanceClassOf(method);
        const hook = `${klass ? className(klass) : 'this class'}.${memberName(method) ?? 'hook'}`;
        walk(method.value, context.sourceCode, (inner) => {
          if (inner.type === 'CallExpression') check(context, inner, method.value, signal, hook);
        });
      },
    } as Rule.RuleListener;
  },
};

/** How the hook reaches its signal: `signal` (destructured), `ctx.signal`, or not at all (destructured without it). */
interface HookSignal {
  /** The expression to pass, undefined when the parameter does not take it. */
  expression?: string;
  /** Names whose mention in a loop condition means the loop checks the signal. */
  names: string[];
}

function signalOf(param: TSESTree.Parameter | undefined): HookSignal | undefined {
  const target = param?.type === 'AssignmentPattern' ? param.left : param;
  if (target?.type === 'Identifier') return { expression: `${target.name}.signal`, names: [target.name] };
  if (target?.type !== 'ObjectPattern') return undefined;
  for (const property of target.properties) {
    if (property.type !== 'Property' || property.computed || property.key.type !== 'Identifier' || property.key.name !== 'signal') continue;
    const value = property.value.type === 'AssignmentPattern' ? property.value.left : property.value;
    if (value.type === 'Identifier') return { expression: value.name, names: [value.name] };
    return undefined;
  }
  if (target.properties.some((property) => property.type === 'RestElement')) return undefined;
  return { names: [] };
}

function check(context: Rule.RuleContext, call: TSESTree.CallExpression, hookFn: TSESTree.FunctionLike, signal: HookSignal, hook: string): void {
  const abortable = abortableOf(calleeOrigin(context, call.callee));
  if (!abortable || !awaitedByHook(call, hookFn)) return;
  const args = call.arguments;
  const { optionsAt, minArgs } = abortable;
  if (args.length < minArgs || args.slice(0, optionsAt + 1).some((arg) => arg.type === 'SpreadElement')) return;
  const options = args[optionsAt];
  if (options && (options.type !== 'ObjectExpression' || options.properties.some(passesSignal))) return;
  if (abortable.timer && insideSignalLoop(call, hookFn, signal)) return;

  const property = signal.expression === 'signal' || !signal.expression ? 'signal' : `signal: ${signal.expression}`;
  const sourceCode = context.sourceCode;
  let fix: ((fixer: Rule.RuleFixer) => Rule.Fix) | undefined;
  let fixed: string;
  if (options?.type === 'ObjectExpression') {
    const last = options.properties.at(-1);
    fix = last ? (fixer) => fixer.insertTextAfter(last as never, `, ${property}`) : (fixer) => fixer.replaceText(options as never, `{ ${property} }`);
    fixed = `{ ${options.properties.map((p) => sourceCode.getText(p as never)).join(', ')}${last ? ', ' : ''}${property} }`;
  } else {
    const padding = ', undefined'.repeat(optionsAt - args.length);
    const last = args.at(-1);
    if (last) fix = (fixer) => fixer.insertTextAfter(last as never, `${padding}, { ${property} }`);
    fixed = `{ ${property} }`;
  }
  const head = sourceCode.getText(call.callee as never);
  const shown = `${head}(${[...args.slice(0, optionsAt).map((arg) => sourceCode.getText(arg as never)), ...Array(Math.max(0, optionsAt - args.length)).fill('undefined'), fixed].join(', ')})`;
  context.report({
    node: call as unknown as Rule.Node,
    messageId: signal.expression ? 'missingSignal' : 'missingSignalNotTaken',
    data: { label: abortable.label, hook, fix: shown },
    suggest: signal.expression && fix ? [{ messageId: 'addSignal', data: { fix: shown }, fix }] : [],
  });
}

function passesSignal(property: TSESTree.ObjectLiteralElement): boolean {
  if (property.type === 'SpreadElement') return true;
  if (property.computed) return property.key.type !== 'Literal' || property.key.value === 'signal';
  return (property.key.type === 'Identifier' && property.key.name === 'signal') || (property.key.type === 'Literal' && property.key.value === 'signal');
}

/** Whether the hook waits for `call`: it is awaited, returned by the hook, or in an awaited or returned Promise combinator. */
function awaitedByHook(call: Node, hookFn: TSESTree.FunctionLike): boolean {
  let node: Node = call;
  while (node.parent && ['TSAsExpression', 'TSNonNullExpression', 'TSSatisfiesExpression', 'ChainExpression'].includes(node.parent.type)) node = node.parent;
  const parent = node.parent;
  if (parent?.type === 'AwaitExpression') return true;
  if (parent?.type === 'ReturnStatement') return enclosingFunction(parent) === hookFn;
  if (parent?.type === 'ArrayExpression' && parent.parent?.type === 'CallExpression' && parent.parent.arguments[0] === parent) {
    const combinator = parent.parent;
    const callee = unwrap(combinator.callee);
    const isCombinator =
      callee?.type === 'MemberExpression' &&
      callee.object.type === 'Identifier' &&
      callee.object.name === 'Promise' &&
      PROMISE_COMBINATORS.includes(propertyName(callee) ?? '');
    return isCombinator && awaitedByHook(combinator, hookFn);
  }
  return false;
}

function enclosingFunction(node: Node): Node | undefined {
  for (let parent = node.parent; parent; parent = parent.parent) {
    if (parent.type === 'FunctionExpression' || parent.type === 'FunctionDeclaration' || parent.type === 'ArrowFunctionExpression') return parent;
  }
  return undefined;
}

/** Whether a loop around `call` (inside the hook) tests the signal: `while (!signal.aborted) await sleep(50)`. */
function insideSignalLoop(call: Node, hookFn: TSESTree.FunctionLike, signal: HookSignal): boolean {
  for (let node = call.parent; node && node !== hookFn; node = node.parent) {
    const test = node.type === 'WhileStatement' || node.type === 'DoWhileStatement' || node.type === 'ForStatement' ? node.test : undefined;
    if (test && mentionsSignal(test, signal)) return true;
  }
  return false;
}

function mentionsSignal(test: Node, signal: HookSignal): boolean {
  const stack: Node[] = [test];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type === 'Identifier' && signal.names.includes(node.name)) return true;
    if (node.type === 'MemberExpression') {
      const name = propertyName(node);
      if (name === 'aborted' || name === 'signal') return true;
      stack.push(node.object);
    } else if (node.type === 'UnaryExpression' || node.type === 'LogicalExpression' || node.type === 'BinaryExpression') {
      if ('argument' in node) stack.push(node.argument);
      if ('left' in node) stack.push(node.left as Node, node.right);
    } else if (node.type === 'CallExpression') {
      stack.push(node.callee);
    }
  }
  return false;
}
