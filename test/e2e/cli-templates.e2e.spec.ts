import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addPackageAndSetup, CLI_TEMPLATES, generatedApp, LINT_MISTAKES, packPackage, templateScript } from '../support/cli-templates.js';

/**
 * Each `nest new` template (CLI 11 and 12, pinned) with the packed package and
 * the README's setup passes its own build, test, test:e2e and lint scripts,
 * run unchanged. The unit tests run as in a CI pod (KUBERNETES_SERVICE_HOST
 * set), where a simulated shutdown must still not wait the readiness delay.
 */
let tarball: Promise<string> | undefined;

describe.each(CLI_TEMPLATES)('the Nest CLI $cli template ($name)', (template) => {
  let dir: string;
  beforeAll(async () => {
    tarball ??= packPackage();
    dir = await generatedApp(template);
    await addPackageAndSetup(template, dir, await tarball);
  }, 480_000);

  it('builds with its own `npm run build`', async () => {
    const { code, output } = await templateScript(dir, 'build');
    expect({ code, output }).toMatchObject({ code: 0 });
  });

  it("passes its own `npm test`, the README's shutdown test included, inside the runner's default 5 s timeout", async () => {
    const { code, output } = await templateScript(dir, 'test', { KUBERNETES_SERVICE_HOST: '10.0.0.1' });
    expect({ code, output }).toMatchObject({ code: 0 });
    expect(output).toMatch(/shutdown\.spec\.ts/);
    expect(output).toMatch(/Tests:?\s+3 passed/);
  });

  it('passes its own `npm run test:e2e` with the module in its AppModule', async () => {
    const { code, output } = await templateScript(dir, 'test:e2e');
    expect({ code, output }).toMatchObject({ code: 0 });
    expect(output).toMatch(/Tests:?\s+1 passed/);
  });

  it("passes its own `npm run lint`, with the lint plugin's recommended rules added, with no error", async () => {
    const { code, output } = await templateScript(dir, 'lint');
    expect({ code, output }).toMatchObject({ code: 0 });
    expect(output).not.toMatch(/\b[1-9]\d* errors?\b/);
    expect(output).not.toMatch(/nestjs-graceful\//);
  });

  it("its own `npm run lint` runs the plugin: a provider's process.exit() and signal listener are errors", async () => {
    const bad = join(dir, 'src', 'bad.service.ts');
    writeFileSync(bad, LINT_MISTAKES);
    try {
      const { code, output } = await templateScript(dir, 'lint');
      expect(code).not.toBe(0);
      expect(output).toMatch(/nestjs-graceful[/(]no-process-exit/);
      expect(output).toMatch(/nestjs-graceful[/(]no-signal-listeners/);
    } finally {
      rmSync(bad, { force: true });
    }
  });
});
