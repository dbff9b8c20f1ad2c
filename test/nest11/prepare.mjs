// Prepares the Nest 11 (CommonJS) application the end-to-end tests also run:
// installs its locked dependencies when they are missing or stale, puts the
// built package into its node_modules as an installed copy (so that the
// package's own imports of @nestjs/* resolve to Nest 11; its `require`
// condition gives the app the CommonJS build, dist/cjs), and compiles the
// test fixtures to CommonJS beside them. Run by `npm test` after the build.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const installed = join(here, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(join(here, 'package-lock.json')).mtimeMs) {
  execFileSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here, stdio: 'inherit' });
}

const copy = join(here, 'node_modules', 'nestjs-graceful');
rmSync(copy, { recursive: true, force: true });
mkdirSync(copy, { recursive: true });
if (!existsSync(join(root, 'dist', 'cjs', 'package.json'))) throw new Error('dist/cjs is missing: run `npm run build` first.');
cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
writeFileSync(join(copy, 'package.json'), readFileSync(join(root, 'package.json')));

execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
