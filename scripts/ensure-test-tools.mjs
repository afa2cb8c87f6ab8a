#!/usr/bin/env node
// `npm test`'s pretest: the test suite starts real redis-server processes (budget store), a real
// Chromium (HTML report) and a real Prometheus (the metrics scrape test), so all must be installed. When one is missing this installs it with
// apt-get if it can do so without asking anyone (root or password-less sudo, apt-get present, not
// disabled with COSTSPAN_NO_APT=1); otherwise it stops at once with the exact command to run.
// Nothing is skipped: a test run without these tools would report a green run that tested less.
//
// Chromium is found as $CHROME_PATH, else `chromium`, `chromium-browser` or `google-chrome` on the
// PATH (the same order as packages/cli/src/__fixtures__/chromium.ts, which the HTML test uses);
// Prometheus as $PROMETHEUS_PATH, else `prometheus` on the PATH (as test/metrics/prometheus-server.ts).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome'];
/** apt-get update and install are each bounded: a stuck mirror must not hang `npm test` forever. */
const APT_TIMEOUT_MS = 15 * 60 * 1000;

/** The first executable file named `name` in the PATH directories, or undefined. */
function onPath(name, env) {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(file) {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findChromium(env) {
  const fromEnv = env.CHROME_PATH;
  if (fromEnv !== undefined && fromEnv !== '' && isExecutableFile(fromEnv)) return fromEnv;
  for (const name of CHROMIUM_NAMES) {
    const found = onPath(name, env);
    if (found !== undefined) return found;
  }
  return undefined;
}

function findPrometheus(env) {
  const fromEnv = env.PROMETHEUS_PATH;
  if (fromEnv !== undefined && fromEnv !== '' && isExecutableFile(fromEnv)) return fromEnv;
  return onPath('prometheus', env);
}

/** Debian package names of the tools that are missing, in a stable order. */
function missingPackages(env) {
  const missing = [];
  if (onPath('redis-server', env) === undefined) missing.push('redis-server');
  if (findChromium(env) === undefined) missing.push('chromium');
  if (findPrometheus(env) === undefined) missing.push('prometheus');
  return missing;
}

/** `a`, `a and b`, `a, b and c`. */
function names(packages) {
  return packages.length <= 2 ? packages.join(' and ') : `${packages.slice(0, -1).join(', ')} and ${packages.at(-1)}`;
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** How to run apt-get without a prompt: directly as root, through `sudo -n` if that needs no password, else not at all. */
function aptPrefix(env) {
  if (env.COSTSPAN_NO_APT === '1') return undefined;
  if (onPath('apt-get', env) === undefined) return undefined;
  if (isRoot()) return [];
  if (onPath('sudo', env) === undefined) return undefined;
  const probe = spawnSync('sudo', ['-n', 'true'], { env, stdio: 'ignore', timeout: 10_000 });
  return probe.status === 0 ? ['sudo', '-n'] : undefined;
}

function commandLine(packages, env) {
  const sudo = isRoot() ? '' : 'sudo ';
  const install = `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (onPath('apt-get', env) !== undefined) return install;
  return `${install}\n\n(that is for Debian/Ubuntu; elsewhere install them with your package manager)`;
}

function stop(packages, env, reason) {
  process.stderr.write(
    `costspan's tests need ${names(packages)} (real servers, nothing is skipped), and ${reason}.\n` +
      `Run:\n\n  ${commandLine(packages, env)}\n\nthen npm test again. ` +
      'A Chrome or Chromium elsewhere works too: set CHROME_PATH to its binary (PROMETHEUS_PATH for Prometheus).\n',
  );
  process.exit(1);
}

function run(prefix, args, env) {
  const [command, ...rest] = [...prefix, 'apt-get', ...args];
  const result = spawnSync(command, rest, {
    env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: APT_TIMEOUT_MS,
  });
  return result.status === 0;
}

const env = process.env;
const missing = missingPackages(env);
if (missing.length > 0) {
  const prefix = aptPrefix(env);
  if (prefix === undefined) {
    const reason =
      env.COSTSPAN_NO_APT === '1'
        ? 'COSTSPAN_NO_APT=1 forbids installing them'
        : onPath('apt-get', env) === undefined
          ? 'there is no apt-get here to install them'
          : 'installing them needs root (or password-less sudo)';
    stop(missing, env, `${missing.length === 1 ? 'it is' : 'they are'} not installed; ${reason}`);
  }
  process.stderr.write(`costspan: installing ${names(missing)} for the tests (apt-get)\n`);
  if (!run(prefix, ['update'], env) || !run(prefix, ['install', '-y', '--no-install-recommends', ...missing], env)) {
    stop(missing, env, 'installing them with apt-get failed (see above)');
  }
  const still = missingPackages(env);
  if (still.length > 0) stop(still, env, 'apt-get finished but they are still not on the PATH');
}
