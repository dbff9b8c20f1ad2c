import type { Rule } from 'eslint';
import type { TSESTree } from '@typescript-eslint/types';
import { className, instanceClassOf, isNestClass, ruleOptions } from './nest-class.matcher.js';
import { calleeOrigin, isProcess, propertyName, unwrap } from './source.bindings.js';

interface NoProcessExitOptions {
  /** More class decorators that mark a class Nest runs (e.g. a library's own `@Consumer`). */
  decorators: string[];
}

/**
 * `process.exit()` in a provider, controller, resolver, gateway, processor,
 * filter or module ends the process at once: no drain, no `@OnShutdown()`
 * hook, no `onModuleDestroy`, no report, as `os.Exit` skips every `defer`.
 * `GracefulLifecycleService.shutdown(reason)` does what SIGTERM does and then
 * exits. Calls in `main.ts` and other code outside Nest's classes are left
 * alone, and so are static methods (they run on no provider).
 *
 * Catches `process.exit()`, `process['exit']()`, `globalThis.process.exit()`
 * and `exit()` imported from 'node:process'.
 */
export const noProcessExit: Rule.RuleModule = {
  meta: {
    type: 'problem',
    docs: {
      description:
        'Disallow `process.exit()` in providers and controllers: it skips the drain and every shutdown hook; call `GracefulLifecycleService.shutdown()` instead',
      recommended: true,
    },
    schema: [
      {
        type: 'object',
        properties: { decorators: { type: 'array', items: { type: 'string' }, uniqueItems: true } },
        additionalProperties: false,
      },
    ],
    messages: {
      processExit:
        '`process.exit()` in {{klass}} ends the process at once: no drain, no @OnShutdown() hook, no onModuleDestroy. ' +
        "Inject GracefulLifecycleService and call `this.lifecycle.shutdown('<reason>')` instead: it drains, runs every hook, then exits (0 when all of that succeeded, not the code given to process.exit).",
    },
  },
  create(context) {
    const { decorators = [] } = ruleOptions<NoProcessExitOptions>(context);
    return {
      CallExpression(node: Rule.Node) {
        const call = node as unknown as TSESTree.CallExpression;
        if (!isProcessExit(context, call)) return;
        const klass = instanceClassOf(call);
        if (!klass || !isNestClass(klass, decorators)) return;
        context.report({ node, messageId: 'processExit', data: { klass: className(klass) } });
      },
    } as Rule.RuleListener;
  },
};

function isProcessExit(context: Rule.RuleContext, call: TSESTree.CallExpression): boolean {
  const callee = unwrap(call.callee);
  if (callee?.type === 'MemberExpression') return propertyName(callee) === 'exit' && isProcess(context, callee.object);
  if (callee?.type === 'Identifier') {
    const origin = calleeOrigin(context, callee);
    return origin?.source === 'process' && origin.name === 'exit';
  }
  return false;
}
