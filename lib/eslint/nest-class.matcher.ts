/**
 * Recognises the classes Nest instantiates (providers, controllers,
 * resolvers, gateways, processors, filters, modules) and their lifecycle
 * methods, from the source alone.
 */
import type { Rule, SourceCode } from 'eslint';
import type { TSESTree } from '@typescript-eslint/types';

type Node = TSESTree.Node;
export type ClassNode = TSESTree.ClassDeclaration | TSESTree.ClassExpression;

/** Class decorators that make a class something Nest creates and runs the lifecycle of. */
export const NEST_CLASS_DECORATORS: readonly string[] = [
  'Injectable',
  'Controller',
  'Resolver',
  'WebSocketGateway',
  'Processor',
  'QueueEventsListener',
  'Catch',
  'Module',
  'Global',
];

/** Methods where a provider opens what it holds. */
export const OPENING_METHODS: readonly string[] = ['constructor', 'onModuleInit', 'onApplicationBootstrap'];
/** Nest's own teardown methods. */
export const TEARDOWN_METHODS: readonly string[] = ['onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown'];
/** This package's decorators whose methods run at the shutdown. */
export const TEARDOWN_DECORATORS: readonly string[] = ['OnShutdown', 'OnDrain'];

/** `@Injectable()`, `@Injectable`, `@common.Injectable()` → 'Injectable'. */
export function decoratorName(decorator: TSESTree.Decorator): string | undefined {
  const expression = decorator.expression.type === 'CallExpression' ? decorator.expression.callee : decorator.expression;
  if (expression.type === 'Identifier') return expression.name;
  if (expression.type === 'MemberExpression' && !expression.computed && expression.property.type === 'Identifier') return expression.property.name;
  return undefined;
}

export function hasDecorator(node: { decorators?: TSESTree.Decorator[] }, names: readonly string[]): boolean {
  return (node.decorators ?? []).some((decorator) => names.includes(decoratorName(decorator) ?? ''));
}

/** A class member's name, when it is written as one (`close`, `'close'`, `#close`). */
export function memberName(member: TSESTree.ClassElement): string | undefined {
  if (member.type !== 'MethodDefinition' && member.type !== 'PropertyDefinition') return undefined;
  if (member.computed) return member.key.type === 'Literal' && typeof member.key.value === 'string' ? member.key.value : undefined;
  if (member.key.type === 'Identifier') return member.key.name;
  if (member.key.type === 'PrivateIdentifier') return `#${member.key.name}`;
  return undefined;
}

/** The function a member runs: a method's body, or an arrow or function stored in a field. */
export function memberFunction(member: TSESTree.ClassElement): TSESTree.FunctionLike | undefined {
  if (member.type === 'MethodDefinition') return member.value;
  if (member.type === 'PropertyDefinition' && (member.value?.type === 'ArrowFunctionExpression' || member.value?.type === 'FunctionExpression')) {
    return member.value;
  }
  return undefined;
}

/**
 * Whether Nest runs the lifecycle of this class: it carries one of Nest's
 * class decorators (or one the user named), or declares a lifecycle method
 * or an `@OnShutdown()`/`@OnDrain()` method.
 */
export function isNestClass(node: ClassNode, extraDecorators: readonly string[] = []): boolean {
  if (hasDecorator(node, [...NEST_CLASS_DECORATORS, ...extraDecorators])) return true;
  return node.body.body.some((member) => {
    if (member.type === 'MethodDefinition' && member.static) return false;
    const name = memberName(member);
    if (name !== undefined && name !== 'constructor' && (OPENING_METHODS.includes(name) || TEARDOWN_METHODS.includes(name))) return true;
    return member.type === 'MethodDefinition' && hasDecorator(member, TEARDOWN_DECORATORS);
  });
}

/**
 * The class whose instance runs `node`: the nearest enclosing class, unless
 * the way there passes through a static member (which runs on no provider).
 */
export function instanceClassOf(node: Node): ClassNode | undefined {
  let child: Node = node;
  for (let parent = node.parent; parent; child = parent, parent = parent.parent) {
    if (parent.type === 'ClassBody') {
      const member = child as TSESTree.ClassElement;
      if (member.type === 'StaticBlock' || ('static' in member && member.static)) return undefined;
      return parent.parent as ClassNode;
    }
  }
  return undefined;
}

/** `Class` or `<anonymous class>`, for messages. */
export function className(node: ClassNode): string {
  if (node.id) return node.id.name;
  const parent = node.parent;
  if (parent?.type === 'VariableDeclarator' && parent.id.type === 'Identifier') return parent.id.name;
  return 'this class';
}

/**
 * Visits `root` and everything under it, nested functions included, but not
 * nested classes (they have their own `this`). `visit` returning false skips
 * a node's children.
 */
export function walk(root: Node, sourceCode: SourceCode, visit: (node: Node) => boolean | void): void {
  const keys = sourceCode.visitorKeys as Record<string, readonly string[] | undefined>;
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node !== root && (node.type === 'ClassDeclaration' || node.type === 'ClassExpression')) continue;
    if (visit(node) === false) continue;
    for (const key of keys[node.type] ?? []) {
      const value = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--) if (value[i] && typeof value[i] === 'object') stack.push(value[i] as Node);
      } else if (value && typeof value === 'object' && 'type' in value) {
        stack.push(value as Node);
      }
    }
  }
}

/** The options object a rule was given (its first option), or an empty one. */
export function ruleOptions<T extends object>(context: Rule.RuleContext): Partial<T> {
  return (context.options[0] as Partial<T> | undefined) ?? {};
}
