import type { Rule } from 'eslint';
import type { TSESTree } from '@typescript-eslint/types';
import { DEFAULT_SIGNALS } from '../graceful.constants.js';
import { ruleOptions } from './nest-class.matcher.js';
import { isProcess, propertyName, staticString, unwrap } from './source.bindings.js';

interface NoSignalListenersOptions {
  /** The signals GracefulModule handles: its `signals` option. @default ['SIGTERM', 'SIGINT'] */
  signals: string[];
}

const LISTEN_METHODS: readonly string[] = ['on', 'once', 'addListener', 'prependListener', 'prependOnceListener'];

/**
 * The application's own `process.on('SIGTERM', …)` (or `once`,
 * `addListener`, `prependListener`, `prependOnceListener`) for a signal
 * GracefulModule handles races the module's shutdown: it closes the app or
 * exits while the drain and the hooks run. Anywhere in the code, `main.ts`
 * included. Set `signals` to the module's `signals` option when it is not the
 * default.
 */
export const noSignalListeners: Rule.RuleModule = {
  meta: {
    type: 'problem',
    docs: {
      description: "Disallow the app's own listeners for the signals GracefulModule handles: they race its shutdown; use @OnShutdown() instead",
      recommended: true,
    },
    schema: [
      {
        type: 'object',
        properties: { signals: { type: 'array', items: { type: 'string', pattern: '^SIG[A-Z0-9]+$' }, uniqueItems: true } },
        additionalProperties: false,
      },
    ],
    messages: {
      signalListener:
        "`process.{{method}}('{{signal}}')` races GracefulModule, which handles {{signal}} itself: the drain and the hooks may still be running when this listener closes the app or exits. " +
        "Move this work into an @OnShutdown() method, or, if this listener must own {{signal}}, leave it out of GracefulModule.forRoot({ signals }) and rule option 'signals'.",
    },
  },
  create(context) {
    const { signals = [...DEFAULT_SIGNALS] } = ruleOptions<NoSignalListenersOptions>(context);
    return {
      CallExpression(node: Rule.Node) {
        const call = node as unknown as TSESTree.CallExpression;
        const callee = unwrap(call.callee);
        if (callee?.type !== 'MemberExpression') return;
        const method = propertyName(callee);
        if (method === undefined || !LISTEN_METHODS.includes(method)) return;
        const signal = staticString(call.arguments[0]);
        if (signal === undefined || !signals.includes(signal)) return;
        if (!isProcess(context, callee.object)) return;
        context.report({ node, messageId: 'signalListener', data: { method, signal } });
      },
    } as Rule.RuleListener;
  },
};
