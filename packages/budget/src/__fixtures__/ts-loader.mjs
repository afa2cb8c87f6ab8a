// Node module hooks that let a forked child run this repository's TypeScript sources without a
// build (Node 20 cannot strip types): `@costspan/<name>` resolves to packages/<name>/src/index.ts,
// `./x.js` imported from a .ts file resolves to `./x.ts`, and .ts files are transpiled with the
// repository's own `typescript` (transpileModule: no type check, fast).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const packagesDir = new URL('../../../', import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const workspace = /^@costspan\/([a-z0-9-]+)$/.exec(specifier);
  if (workspace) {
    const url = new URL(`${workspace[1]}/src/index.ts`, packagesDir);
    if (existsSync(url)) return { url: url.href, shortCircuit: true };
  }
  if (context.parentURL?.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
    const url = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    if (existsSync(url)) return { url: url.href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.ts')) return nextLoad(url, context);
  const source = readFileSync(fileURLToPath(url), 'utf8');
  const output = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      sourceMap: false,
    },
  });
  return { format: 'module', source: output.outputText, shortCircuit: true };
}
