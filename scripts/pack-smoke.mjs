#!/usr/bin/env node
// CI's publish check (run after `npm run build`): what a user gets from `npm install @costspan/...`.
//  1. `npm pack` each package into a scratch dir and check the tarball: LICENSE and README.md, every
//     source map's sources inside the tarball, and a README that points at nothing outside it
//     (test files, `npx vitest`, ../shared, __fixtures__).
//  2. A scratch project outside the monorepo (mktemp): a NodeSDK app (sdk-node, sdk-trace-base, api from
//     the registry) that then installs the tarballs, so nothing resolves from the monorepo's
//     node_modules; it must end up with one @opentelemetry/core (costspan's OTel ranges reuse the app's).
//  3. The root README's first ```ts block ("Use it") runs there, transpiled with the monorepo's
//     TypeScript (transpileModule), so README and CI cannot drift apart.
//  4. `npx --no-install @costspan/cli report --format json` on the JSONL it wrote: the total must equal
//     the cost the snippet states in its `// priced: $X` comments (summed).
// Each check counts as one test in artifacts/pack-smoke.json (vitest's JSON shape), which .ci/run adds
// to its "N passed, N failed" line. Exits non-zero when any check fails.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const report = join(repo, 'artifacts', 'pack-smoke.json');
const PACKAGES = ['core', 'pricing', 'sdk', 'budget', 'exporter-otlp', 'integrations', 'http', 'cli'];
/**
 * The app before costspan: a NodeSDK app on the newest 2.x line (sdk-node 0.223.0 pins core 2.12.0
 * exactly) with the api and sdk-trace-base it uses. costspan is added to it afterwards, as a user would,
 * and must reuse that @opentelemetry/core rather than nest a second copy (its OTel ranges allow it).
 */
const APP_DEPENDENCIES = ['@opentelemetry/sdk-node@0.223.0', '@opentelemetry/sdk-trace-base@2.12.0', '@opentelemetry/api@1.9.1'];
/** README text that only makes sense inside the monorepo. */
const OUTSIDE_REFERENCES = [/npx vitest/, /\.test\.[cm]?[jt]s/, /\.\.\/shared\//, /DESIGN\.md/, /__fixtures__/];
const STEP_TIMEOUT_MS = 180_000;

const results = [];
function check(name, run) {
  try {
    const detail = run();
    results.push({ name, ok: true });
    console.log(`  ok   ${name}${detail ? `: ${detail}` : ''}`);
    return true;
  } catch (error) {
    results.push({ name, ok: false, message: error.message });
    console.log(`  FAIL ${name}: ${error.message}`);
    return false;
  }
}

function sh(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal ?? result.error?.message}\n${output}`);
  }
  return result.stdout;
}

/** Files below `dir`, as posix paths relative to it. */
function listFiles(dir, prefix = '') {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    return entry.isDirectory() ? listFiles(dir, relative) : [relative];
  });
}

function checkTarball(tarball, extractDir) {
  mkdirSync(extractDir, { recursive: true });
  sh('tar', ['-xzf', tarball, '-C', extractDir]);
  const root = join(extractDir, 'package');
  const files = new Set(listFiles(root));
  const problems = [];
  for (const required of ['LICENSE', 'README.md', 'package.json']) if (!files.has(required)) problems.push(`no ${required}`);
  if (files.has('LICENSE') && !readFileSync(join(root, 'LICENSE'), 'utf8').includes('Apache License'))
    problems.push('LICENSE is not the Apache-2.0 text');
  let maps = 0;
  for (const file of files) {
    if (!file.endsWith('.map')) continue;
    maps += 1;
    const map = JSON.parse(readFileSync(join(root, file), 'utf8'));
    for (const source of map.sources ?? []) {
      const resolved = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source));
      if (!files.has(resolved)) problems.push(`${file} points at ${resolved}, not in the tarball`);
    }
  }
  if (files.has('README.md')) {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const pattern of OUTSIDE_REFERENCES) {
      const line = readme.split('\n').find((text) => pattern.test(text));
      if (line !== undefined) problems.push(`README.md refers outside the package (${pattern}): ${line.trim()}`);
    }
  }
  const tests = [...files].filter((file) => /\.test\.|__fixtures__/.test(file));
  if (tests.length > 0) problems.push(`ships tests or fixtures: ${tests.slice(0, 3).join(', ')}`);
  if (problems.length > 0) throw new Error(problems.slice(0, 8).join('; '));
  return `${files.size} files, ${maps} source maps resolve`;
}

/** The root README's first ```ts block and the total its `priced: $X` comments state. */
function readmeSnippet() {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const match = /```ts\n([\s\S]*?)```/.exec(readme);
  if (match === null) throw new Error('README.md has no ```ts block');
  const code = match[1];
  const stated = [...code.matchAll(/\/\/[^\n]*priced[^\n$]*\$(\d+(?:\.\d+)?)/g)].map((found) => found[1]);
  if (stated.length === 0)
    throw new Error("README.md's first ```ts block states no cost (a `// priced: $X` comment) to check the report against");
  return { code, expectedPico: stated.reduce((sum, amount) => sum + toPico(amount), 0n) };
}

function toPico(decimal) {
  const [whole, fraction = ''] = decimal.split('.');
  return BigInt(whole) * 10n ** 12n + BigInt((fraction + '0'.repeat(12)).slice(0, 12));
}

// --- run ---------------------------------------------------------------------------------------
mkdirSync(dirname(report), { recursive: true });
rmSync(report, { force: true });
for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_') || name.startsWith('COSTSPAN_')) delete process.env[name];
const scratch = mkdtempSync(join(tmpdir(), 'costspan-pack-'));
const tarballs = [];
try {
  console.log(`==> npm pack each package into ${scratch}`);
  for (const name of PACKAGES) {
    check(`@costspan/${name} tarball: LICENSE, README, source maps, no references outside`, () => {
      const dir = join(repo, 'packages', name);
      if (!existsSync(join(dir, 'dist', 'index.js'))) throw new Error(`packages/${name}/dist is missing: run npm run build first`);
      const packed = JSON.parse(sh('npm', ['pack', '--json', '--silent', '--pack-destination', scratch], { cwd: dir }));
      const tarball = join(scratch, packed[0].filename);
      tarballs.push(tarball);
      return checkTarball(tarball, join(scratch, 'extract', name));
    });
  }

  const app = join(scratch, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'costspan-pack-smoke', version: '1.0.0', private: true, type: 'module' }, null, 2),
  );
  console.log(`==> scratch project ${app}: ${APP_DEPENDENCIES.join(', ')} from the registry, then the tarballs`);
  const installed = check('npm install the packed tarballs in a NodeSDK project outside the monorepo', () => {
    if (tarballs.length !== PACKAGES.length) throw new Error('not every package was packed');
    sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...APP_DEPENDENCIES], { cwd: app });
    sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: app });
    const version = JSON.parse(readFileSync(join(app, 'node_modules', '@opentelemetry', 'api', 'package.json'), 'utf8')).version;
    return `@opentelemetry/api ${version}`;
  });
  if (installed) {
    check("one @opentelemetry/core in the NodeSDK app: costspan reuses the app's copy", () => {
      const copies = JSON.parse(sh('npm', ['query', '#@opentelemetry/core'], { cwd: app })).map(
        (node) => `${node.location} ${node.version}`,
      );
      if (copies.length !== 1) throw new Error(`${copies.length} copies: ${copies.join(', ')}`);
      return copies[0];
    });
  }

  let snippet;
  const ran =
    installed &&
    check("README's first ```ts block (Use it) runs against the installed packages", () => {
      snippet = readmeSnippet();
      const typescript = createRequire(join(repo, 'package.json'))('typescript');
      const { outputText } = typescript.transpileModule(snippet.code, {
        compilerOptions: { module: typescript.ModuleKind.ESNext, target: typescript.ScriptTarget.ES2022 },
      });
      writeFileSync(join(app, 'readme-snippet.mjs'), outputText);
      sh(process.execPath, ['readme-snippet.mjs'], { cwd: app, timeout: 60_000 });
      const written = readdirSync(app).filter((file) => file.endsWith('.jsonl'));
      if (written.length !== 1) throw new Error(`expected the snippet to write one .jsonl file in ${app}, found ${written.length}`);
      snippet.events = written[0];
      return `wrote ${written[0]}`;
    });

  if (ran) {
    check('npx @costspan/cli report on its output totals what the README says', () => {
      const output = sh('npx', ['--no-install', '@costspan/cli', 'report', snippet.events, '--format', 'json'], { cwd: app });
      const totals = JSON.parse(output).totals;
      if (toPico(totals.cost_usd) !== snippet.expectedPico) {
        throw new Error(`report total ${totals.cost_usd} USD; the README snippet states ${Number(snippet.expectedPico) / 1e12}`);
      }
      return `${totals.cost_usd} USD in ${totals.calls} call(s)`;
    });
  } else {
    results.push({ name: 'npx @costspan/cli report on its output', ok: false, message: 'not run: an earlier step failed' });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const passed = results.filter((result) => result.ok).length;
const failed = results.length - passed;
writeFileSync(
  report,
  JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: 0, numTodoTests: 0, results }, null, 2),
);
console.log(`pack smoke: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
