import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const repositoryRoot = join(packageDirectory, '..', '..');
const packageJson = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
};
const shim = join(packageDirectory, packageJson.bin.costspan ?? 'missing');
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'costspan-bin-'));
  // The shim loads the built CLI: build it (incremental, quick when up to date).
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', packageDirectory], { stdio: 'pipe' });
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Spawned node and npx processes take seconds on a loaded machine: a generous bound, not a timing assertion.
describe('the costspan bin', { timeout: 30_000 }, () => {
  it('package.json bin points at a committed file outside dist, shipped by files', () => {
    expect(packageJson.bin.costspan).toBe('./bin/costspan.mjs');
    // npm skips a bin link whose target does not exist at install time; dist does not before a build.
    expect(packageJson.bin.costspan?.startsWith('./dist/')).toBe(false);
    const tracked = execFileSync('git', ['ls-files', '--error-unmatch', 'bin/costspan.mjs'], { cwd: packageDirectory, encoding: 'utf8' });
    expect(tracked.trim()).toBe('bin/costspan.mjs');
    expect(packageJson.files).toContain('bin');
    expect(readFileSync(shim, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('runs the built CLI: --help and --version', () => {
    const help = spawnSync(process.execPath, [shim, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage:\n  costspan report');
    const version = spawnSync(process.execPath, [shim, '--version'], { encoding: 'utf8' });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('passes the exit code through (unknown command: 2)', () => {
    const result = spawnSync(process.execPath, [shim, 'no-such-command'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown command');
  });

  it('before a build, says to run npm run build instead of a stack trace', () => {
    // The shim as it sits in a fresh clone: bin/ committed, dist/ not built.
    const clone = join(scratch, 'cli');
    mkdirSync(join(clone, 'bin'), { recursive: true });
    copyFileSync(shim, join(clone, 'bin', 'costspan.mjs'));
    const result = spawnSync(process.execPath, [join(clone, 'bin', 'costspan.mjs'), '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('run npm run build');
    expect(result.stderr).toContain(join(clone, 'dist', 'bin.js'));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('npm ci linked node_modules/.bin/costspan to the shim, and npx --no-install costspan --help works', () => {
    const link = join(repositoryRoot, 'node_modules', '.bin', 'costspan');
    expect(existsSync(link), `${link} is missing: run npm ci (npm links bins at install time)`).toBe(true);
    expect(realpathSync(link), `${link} does not point at the committed shim: re-run npm ci`).toBe(realpathSync(shim));
    const result = spawnSync('npx', ['--no-install', 'costspan', '--help'], { encoding: 'utf8', cwd: repositoryRoot });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('costspan report');
  });
});
