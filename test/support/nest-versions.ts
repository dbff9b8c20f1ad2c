/**
 * The Nest versions the end-to-end tests run a fixture on: Nest 12 (ESM,
 * the fixture as built), and Nest 11 (the same fixture compiled to
 * CommonJS in test/nest11, prepared by its prepare.mjs).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const NEST_VERSIONS = [
  ['Nest 12', (fixture: string) => fixture],
  ['Nest 11', (fixture: string) => join(process.cwd(), 'test', 'nest11', '.build', 'fixtures', fixture)],
] as const;

/** The report a fixture wrote to `file` (its `reportFile`), read once: the file is removed. */
export function takeReport(file: string): Record<string, unknown> {
  const report = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  rmSync(file, { force: true });
  return report;
}
