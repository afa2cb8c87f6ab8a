import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A throwaway redis-server bound to 127.0.0.1 on a free port, without persistence. */
export interface RedisServerHandle {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  /** Sends a signal (SIGKILL to simulate a crash, SIGSTOP/SIGCONT to simulate a hang). */
  signal(signal: NodeJS.Signals): void;
  /** Kills the server and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** What to run when redis-server is missing: the same command `npm test`'s pretest (scripts/ensure-test-tools.mjs) gives. */
export function redisInstallCommand(): string {
  const sudo = typeof process.getuid === 'function' && process.getuid() === 0 ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends redis-server`;
}

/**
 * Fails at once, with the exact install command, when redis-server is not on the PATH. The Redis
 * tests never skip: a green run without Redis would have tested less than it says.
 */
export function assertRedisServerOnPath(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      'redis-server is not on PATH; the @costspan/budget Redis tests start real redis-server processes and never skip. ' +
        `Install it with \`${redisInstallCommand()}\` (or run \`npm test\`, whose pretest installs it when it can), then run the tests again.`,
    );
  }
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `redis-server args` and resolves once it accepts connections (within 10 s, else rejects with
 * its output); `exited` resolves when it exits. `name` says which server in the messages.
 */
export async function spawnRedisServer(args: readonly string[], name: string): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code}:\n${output}`));
    });
  });
  child.stdout.resume();
  child.stderr.resume();
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return { child, exited };
}

/** Starts a redis-server and resolves once it accepts connections. `args` are added to its command line (e.g. `--requirepass`). */
export async function startRedisServer(options: { args?: readonly string[] } = {}): Promise<RedisServerHandle> {
  assertRedisServerOnPath();
  const port = await freePort();
  const args = ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', ...(options.args ?? [])];
  const { child, exited } = await spawnRedisServer(args, `redis-server on port ${port}`);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    process: child,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
      await exited;
    },
  };
}
