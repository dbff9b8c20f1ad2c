import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import graceful from 'nestjs-graceful/eslint-plugin';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The recommended config as an application turns it on, with the TypeScript parser its own config already has. */
function lint(config: Linter.Config[] = [graceful.configs.recommended]): ESLint {
  return new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...config],
  });
}

const findings = (results: ESLint.LintResult[]) =>
  results.flatMap((result) => result.messages.map((m) => `${relative(ROOT, result.filePath)}:${m.line} ${m.ruleId} (${m.severity === 2 ? 'error' : 'warn'})`));

describe('nestjs-graceful/eslint-plugin', () => {
  it("loads through the package's exports with its four rules and a recommended config that brings the plugin along", () => {
    expect(Object.keys(graceful.rules).sort()).toEqual(['close-what-you-open', 'no-process-exit', 'no-signal-listeners', 'pass-abort-signal']);
    expect(graceful.configs.recommended.plugins).toEqual({ 'nestjs-graceful': graceful });
    expect(graceful.configs.recommended.rules).toEqual({
      'nestjs-graceful/no-process-exit': 'error',
      'nestjs-graceful/no-signal-listeners': 'error',
      'nestjs-graceful/close-what-you-open': 'warn',
      'nestjs-graceful/pass-abort-signal': 'warn',
    });
    for (const [name, rule] of Object.entries(graceful.rules)) {
      expect(rule.meta?.docs?.description).toEqual(expect.stringMatching(/^[A-Z].{40,}/));
      expect(`${name}: ${Object.keys(rule.meta?.messages ?? {}).length}`).not.toMatch(/: 0$/);
    }
  });

  it('loads nothing but its own files and the pure constants (no @nestjs/*, nothing a lint process lacks)', () => {
    // Wherever the package's exports point (one build or two), the plugin's folder and what its files load.
    const eslintDir = dirname(createRequire(import.meta.url).resolve('nestjs-graceful/eslint-plugin'));
    const imports = (file: string) =>
      [...readFileSync(file, 'utf8').matchAll(/^(?:import\s[^'"]*|(?:const|let|var)\s[^=]+=\s*require\()['"]([^'"]+)['"]/gm)].map((match) => match[1]);
    const specifiers = new Set(
      readdirSync(eslintDir)
        .filter((name) => /\.[cm]?js$/.test(name))
        .flatMap((name) => imports(join(eslintDir, name))),
    );
    expect([...specifiers].filter((specifier) => !specifier!.startsWith('./'))).toEqual(['../graceful.constants.js']);
    expect(imports(join(eslintDir, '..', 'graceful.constants.js'))).toEqual([]);
  });

  it('on the sample: no finding (its hooks pass their signal on, or poll it around their sleeps)', async () => {
    const results = await lint().lintFiles(['sample/']);
    expect(results.length).toBeGreaterThanOrEqual(10);
    expect(results.filter((result) => result.fatalErrorCount > 0)).toEqual([]);
    // The plugin's one finding here, `await sleep(150)` in OrdersService.flushOutbox without { signal }, was fixed in the
    // sample. DatabaseService.close polls the signal around its sleeps: left alone, as it should be.
    expect(findings(results)).toEqual([]);
  });

  it('finds each kind of mistake in one application file, with the rule options a config passes', async () => {
    const eslint = lint([
      graceful.configs.recommended,
      { rules: { 'nestjs-graceful/no-signal-listeners': ['error', { signals: ['SIGTERM', 'SIGINT', 'SIGHUP'] }] } },
    ]);
    const [result] = await eslint.lintText(
      `
      import { Injectable } from '@nestjs/common';
      import { Pool } from 'pg';
      import { OnShutdown, type ShutdownContext } from 'nestjs-graceful';

      @Injectable()
      export class ReportsService {
        private readonly pool = new Pool();
        private readonly timer = setInterval(() => void this.refresh(), 60_000);

        async refresh() {
          try {
            await this.pool.query('refresh materialized view reports');
          } catch {
            process.exit(1);
          }
        }

        @OnShutdown()
        async upload({ signal }: ShutdownContext) {
          clearInterval(this.timer);
          await fetch('https://reports.example/upload', { method: 'POST' });
        }
      }

      process.on('SIGHUP', () => process.exit(0));
      `,
      { filePath: join(ROOT, 'src', 'reports.service.ts') },
    );
    expect(result!.messages.map((m) => `${m.line} ${m.ruleId}`)).toEqual([
      '8 nestjs-graceful/close-what-you-open',
      '15 nestjs-graceful/no-process-exit',
      '22 nestjs-graceful/pass-abort-signal',
      '26 nestjs-graceful/no-signal-listeners',
    ]);
    expect(result!.messages[1]!.message).toContain('GracefulLifecycleService');
  });
});
