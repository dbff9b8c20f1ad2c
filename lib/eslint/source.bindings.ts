/**
 * Where a name in the linted file comes from: a global, an `import`, or a
 * `require()`. Syntax and scope analysis only (no type information), so the
 * rules work on plain JavaScript and on TypeScript without a project.
 */
import type { Rule, Scope } from 'eslint';
import type { TSESTree } from '@typescript-eslint/types';

type Node = TSESTree.Node;

/** Where a binding comes from. `imported` is the exported name, `'default'` or `'*'` (namespace or whole `require()`). */
export interface BindingOrigin {
  source: string;
  imported: string;
}

/** A callee's origin: the module it comes from (undefined for a global) and the name called in it. */
export interface CalleeOrigin {
  source?: string;
  name: string;
}

/** `node:events` and `events` are the same module. */
const bare = (source: string) => (source.startsWith('node:') ? source.slice(5) : source);

/** The variable `name` resolves to from `node`, or undefined when nothing declares it (a global). */
function variableOf(context: Rule.RuleContext, node: Node, name: string): Scope.Variable | undefined {
  for (let scope: Scope.Scope | null = context.sourceCode.getScope(node as never); scope; scope = scope.upper) {
    const variable = scope.set.get(name);
    if (variable) return variable;
  }
  return undefined;
}

/** `require('m')` → 'm'. */
function requiredModule(node: Node | null | undefined): string | undefined {
  const call = unwrap(node);
  if (call?.type !== 'CallExpression' || call.callee.type !== 'Identifier' || call.callee.name !== 'require') return undefined;
  const [arg] = call.arguments;
  return arg?.type === 'Literal' && typeof arg.value === 'string' ? bare(arg.value) : undefined;
}

/**
 * Where the identifier `name` seen at `node` comes from: an import, a
 * `require()` (whole or destructured), 'global' when nothing declares it,
 * or undefined when it is some other local.
 */
export function originOf(context: Rule.RuleContext, node: Node, name: string): BindingOrigin | 'global' | undefined {
  const variable = variableOf(context, node, name);
  if (!variable || variable.defs.length === 0) return 'global';
  const def = variable.defs[0] as unknown as { type: string; node: Node; parent?: Node };
  if (def.type === 'ImportBinding') {
    const spec = def.node;
    const declaration = def.parent as TSESTree.ImportDeclaration | undefined;
    if (!declaration || declaration.type !== 'ImportDeclaration') return undefined;
    const source = bare(String(declaration.source.value));
    if (spec.type === 'ImportDefaultSpecifier') return { source, imported: 'default' };
    if (spec.type === 'ImportNamespaceSpecifier') return { source, imported: '*' };
    if (spec.type === 'ImportSpecifier') {
      const imported = spec.imported.type === 'Identifier' ? spec.imported.name : String(spec.imported.value);
      return { source, imported };
    }
    return undefined;
  }
  if (def.type === 'Variable' && def.node.type === 'VariableDeclarator') {
    const declarator = def.node;
    const source = requiredModule(declarator.init);
    if (source === undefined) return undefined;
    if (declarator.id.type === 'Identifier') return { source, imported: '*' };
    if (declarator.id.type === 'ObjectPattern') {
      for (const property of declarator.id.properties) {
        if (property.type !== 'Property' || property.key.type !== 'Identifier') continue;
        const value = property.value.type === 'AssignmentPattern' ? property.value.left : property.value;
        if (value.type === 'Identifier' && value.name === name) return { source, imported: property.key.name };
      }
    }
  }
  return undefined;
}

/** The name of a non-computed member, or of a computed one written as a string. */
export function propertyName(member: TSESTree.MemberExpression): string | undefined {
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (!member.computed && member.property.type === 'PrivateIdentifier') return `#${member.property.name}`;
  if (member.property.type === 'Literal' && typeof member.property.value === 'string') return member.property.value;
  return undefined;
}

/**
 * What a callee is: `fetch` (global) → { name: 'fetch' }; `sleep` imported as
 * `setTimeout` from 'node:timers/promises' → { source: 'timers/promises', name:
 * 'setTimeout' }; `cp.spawn` with `import * as cp from 'child_process'` →
 * { source: 'child_process', name: 'spawn' }; `require('events').once` too.
 * Undefined when the callee is a local the rules cannot follow.
 */
export function calleeOrigin(context: Rule.RuleContext, callee: Node): CalleeOrigin | undefined {
  const target = unwrap(callee);
  if (!target) return undefined;
  if (target.type === 'Identifier') {
    const origin = originOf(context, target, target.name);
    if (origin === 'global') return { name: target.name };
    if (!origin) return undefined;
    return { source: origin.source, name: origin.imported === 'default' || origin.imported === '*' ? target.name : origin.imported };
  }
  if (target.type === 'MemberExpression') {
    const name = propertyName(target);
    if (name === undefined) return undefined;
    const object = unwrap(target.object);
    const required = requiredModule(object);
    if (required !== undefined) return { source: required, name };
    if (object?.type !== 'Identifier') return undefined;
    const origin = originOf(context, object, object.name);
    if (origin === 'global' || !origin) return undefined;
    // `import * as cp from 'child_process'; cp.spawn()` or `import events from 'events'; events.once()`.
    if (origin.imported === '*' || origin.imported === 'default') return { source: origin.source, name };
    // `import { EventEmitter } from 'events'; EventEmitter.once()`, `import { scheduler } from 'timers/promises'; scheduler.wait()`.
    return { source: origin.source, name: `${origin.imported}.${name}` };
  }
  return undefined;
}

/** Whether `node` is the real `process`: the global one, or imported from 'process'. */
export function isProcess(context: Rule.RuleContext, node: Node | undefined): boolean {
  const target = unwrap(node);
  if (!target) return false;
  if (target.type === 'Identifier') {
    const origin = originOf(context, target, target.name);
    if (origin === 'global') return target.name === 'process';
    return origin?.source === 'process' && (origin.imported === 'default' || origin.imported === '*');
  }
  // globalThis.process
  return (
    target.type === 'MemberExpression' &&
    propertyName(target) === 'process' &&
    target.object.type === 'Identifier' &&
    target.object.name === 'globalThis' &&
    originOf(context, target.object, 'globalThis') === 'global'
  );
}

/** Strips what does not change the value: TS casts and non-null marks, `await`, optional chains. */
export function unwrap(node: Node | null | undefined): Node | undefined {
  let current = node ?? undefined;
  while (current) {
    switch (current.type) {
      case 'TSAsExpression':
      case 'TSNonNullExpression':
      case 'TSSatisfiesExpression':
      case 'TSTypeAssertion':
      case 'ChainExpression':
        current = current.expression;
        break;
      case 'AwaitExpression':
        current = current.argument;
        break;
      default:
        return current;
    }
  }
  return current;
}

/** A string literal or a template without expressions, as its text. */
export function staticString(node: Node | undefined): string | undefined {
  if (node?.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node?.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? undefined;
  return undefined;
}
