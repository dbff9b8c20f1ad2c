import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * The README's imports, compiled as an application compiles them: the
 * settings the Nest CLI templates use (`isolatedModules` with
 * `emitDecoratorMetadata`), against the built package's declarations, as an
 * ES module app (Nest 12), a CommonJS one on `nodenext` (Nest 11) and a
 * CommonJS one on the older `node10` resolution (an app upgraded from Nest 10).
 */
const APP = `
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { GracefulModule, OnShutdown, ShutdownContext } from 'nestjs-graceful';
import { runShutdown, stopOrder } from 'nestjs-graceful/testing';

@Injectable()
export class Store {
  @OnShutdown({ timeout: 2000 })
  async close(ctx: ShutdownContext): Promise<void> {
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
  }
}

@Module({ imports: [GracefulModule.forRoot()], providers: [Store] })
export class AppModule {}

export async function stops(): Promise<string[]> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const report = await runShutdown(moduleRef);
  return stopOrder(report);
}
`;

const CONSUMERS = {
  'an ES module app (Nest 12 template)': { type: 'module', options: { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext } },
  'a CommonJS app on nodenext (Nest 11 template)': {
    type: undefined,
    options: { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext },
  },
  'a CommonJS app on node10 resolution': { type: undefined, options: { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 } },
};

const root = join(process.cwd(), '.build', 'consumers');
beforeAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(Object.entries(CONSUMERS))('the README imports compile in %s', (name, consumer) => {
  it('with isolatedModules and emitDecoratorMetadata: no TS1272, the package and /testing resolve', () => {
    const dir = join(root, name.replace(/\W+/g, '-'));
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    symlinkSync(process.cwd(), join(dir, 'node_modules', 'nestjs-graceful'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, ...(consumer.type ? { type: consumer.type } : {}) }));
    const file = join(dir, 'app.ts');
    writeFileSync(file, APP);
    const program = ts.createProgram([file], {
      ...consumer.options,
      target: ts.ScriptTarget.ES2023,
      isolatedModules: true,
      emitDecoratorMetadata: true,
      experimentalDecorators: true,
      strict: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [join(process.cwd(), 'node_modules', '@types')],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(problems).toEqual([]);
  });
});
