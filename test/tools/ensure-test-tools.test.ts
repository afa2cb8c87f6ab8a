// npm test's pretest (scripts/ensure-test-tools.mjs) on a machine without redis-server, chromium and prometheus:
// a PATH that holds neither (so the machine looks fresh), with apt-get forbidden, absent, or a stand-in
// that records its arguments and "installs" the tools. The real install runs in CI, on a fresh machine.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/ensure-test-tools.mjs', import.meta.url));
const isRoot = process.getuid?.() === 0;
const sudo = isRoot ? '' : 'sudo ';
const directories: string[] = [];

afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function emptyBin(): string {
  const directory = mkdtempSync(join(tmpdir(), 'costspan-ensure-'));
  directories.push(directory);
  return directory;
}

function executable(file: string, body: string): void {
  writeFileSync(file, body);
  chmodSync(file, 0o755);
}

function ensure(env: Record<string, string>) {
  return spawnSync(process.execPath, [script], { env, encoding: 'utf8', timeout: 30_000 });
}

describe('scripts/ensure-test-tools.mjs (npm test pretest)', () => {
  it('stops at once with the exact command when all are missing and apt is switched off', () => {
    const bin = emptyBin();
    const result = ensure({ PATH: bin, COSTSPAN_NO_APT: '1' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('need redis-server, chromium and prometheus');
    expect(result.stderr).toContain(
      `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends redis-server chromium prometheus`,
    );
    expect(result.stderr).toContain('CHROME_PATH');
  });

  it('names only what is missing: chromium through CHROME_PATH, prometheus through PROMETHEUS_PATH, redis-server absent', () => {
    const bin = emptyBin();
    executable(join(bin, 'my-chrome'), '#!/bin/sh\n');
    executable(join(bin, 'my-prometheus'), '#!/bin/sh\n');
    const result = ensure({
      PATH: bin,
      COSTSPAN_NO_APT: '1',
      CHROME_PATH: join(bin, 'my-chrome'),
      PROMETHEUS_PATH: join(bin, 'my-prometheus'),
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('apt-get install -y --no-install-recommends redis-server\n');
  });

  it('without apt-get on the PATH says so and still prints the Debian command', () => {
    const result = ensure({ PATH: emptyBin() });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('there is no apt-get here');
    expect(result.stderr).toContain('apt-get install -y --no-install-recommends redis-server chromium prometheus');
  });

  it('installs the missing tools with apt-get update, then apt-get install, and exits 0', () => {
    const bin = emptyBin();
    const log = join(bin, 'apt.log');
    // A stand-in apt-get (absolute node shebang: the PATH holds nothing else) that records its arguments
    // and, on install, puts the named tools on the PATH as a real install would.
    executable(
      join(bin, 'apt-get'),
      `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, args.join(' ') + ' DEBIAN_FRONTEND=' + process.env.DEBIAN_FRONTEND + '\\n');
if (args[0] === 'install') for (const name of args.slice(3)) { fs.writeFileSync(${JSON.stringify(bin)} + '/' + name, '#!/bin/sh\\n'); fs.chmodSync(${JSON.stringify(bin)} + '/' + name, 0o755); }
`,
    );
    // Not root: the script asks password-less sudo; this one runs the command after -n.
    executable(
      join(bin, 'sudo'),
      `#!${process.execPath}\nconst r = require('node:child_process').spawnSync(process.argv[3], process.argv.slice(4), { stdio: 'inherit' }); process.exit(r.status ?? 1);\n`,
    );
    const result = ensure({ PATH: bin });
    expect(result.stderr).toContain('installing redis-server, chromium and prometheus');
    expect(result.status).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe(
      'update DEBIAN_FRONTEND=noninteractive\ninstall -y --no-install-recommends redis-server chromium prometheus DEBIAN_FRONTEND=noninteractive\n',
    );
  });

  it('exits 0 at once, silent, when all are on the PATH (this machine after the pretest ran)', () => {
    const result = ensure({ PATH: process.env['PATH'] ?? '' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
