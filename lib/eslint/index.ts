/**
 * `nestjs-graceful/eslint-plugin`: the static check before the runtime one.
 * Finds, in application code, what defeats a graceful shutdown before it
 * runs. Flat config:
 *
 * ```js
 * // eslint.config.mjs
 * import graceful from 'nestjs-graceful/eslint-plugin';
 * export default [graceful.configs.recommended];
 * ```
 *
 * Syntax and scope only: no type information, no import of Nest, so it loads
 * in any lint process and checks TypeScript and plain JavaScript alike.
 */
import type { ESLint, Linter, Rule } from 'eslint';
import { closeWhatYouOpen } from './close-what-you-open.rule.js';
import { noProcessExit } from './no-process-exit.rule.js';
import { noSignalListeners } from './no-signal-listeners.rule.js';
import { passAbortSignal } from './pass-abort-signal.rule.js';

/** The name the rules are used under: `nestjs-graceful/no-process-exit`. */
export const PLUGIN_NAME = 'nestjs-graceful';

export const rules: Record<string, Rule.RuleModule> = {
  'no-process-exit': noProcessExit,
  'no-signal-listeners': noSignalListeners,
  'close-what-you-open': closeWhatYouOpen,
  'pass-abort-signal': passAbortSignal,
};

export const meta: NonNullable<ESLint.Plugin['meta']> = { name: 'nestjs-graceful/eslint-plugin', namespace: PLUGIN_NAME };

/**
 * `recommended`: errors for what always defeats the shutdown
 * (`no-process-exit`, `no-signal-listeners`), warnings for what is found by
 * pattern and is worth a look (`close-what-you-open`, `pass-abort-signal`).
 */
export const configs: { recommended: Linter.Config } = {
  recommended: {
    name: 'nestjs-graceful/recommended',
    rules: {
      [`${PLUGIN_NAME}/no-process-exit`]: 'error',
      [`${PLUGIN_NAME}/no-signal-listeners`]: 'error',
      [`${PLUGIN_NAME}/close-what-you-open`]: 'warn',
      [`${PLUGIN_NAME}/pass-abort-signal`]: 'warn',
    },
  },
};

const plugin = { meta, rules, configs } satisfies ESLint.Plugin;
configs.recommended.plugins = { [PLUGIN_NAME]: plugin };

export default plugin;
