import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { assertRedisServerOnPath, spawnRedisServer } from './redis-server.js';

/** One redis-server of a test cluster. */
export interface ClusterNodeHandle {
  readonly port: number;
  readonly process: ChildProcess;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Sends a signal (SIGSTOP/SIGCONT to hang and resume it). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILLs the node (a crash) and waits for it to exit. */
  kill(): Promise<void>;
}

/** A local Redis Cluster of three masters and three replicas, each in its own temp dir. */
export interface RedisClusterHandle {
  readonly nodes: readonly ClusterNodeHandle[];
  /** `{ host, port }` of every node, for the ioredis Cluster client. */
  readonly startupNodes: readonly { host: string; port: number }[];
  /** Port of the master serving `key` now. */
  masterOf(key: string): Promise<number>;
  /** The node handle of the replica of the master on `masterPort`. */
  replicaOf(masterPort: number): Promise<ClusterNodeHandle>;
  /** Resolves once every live node reports `cluster_state:ok`, at most `timeoutMs`. */
  waitHealthy(timeoutMs: number): Promise<void>;
  /** Resolves once no live node maps a slot to the master that was on `deadPort` and the cluster is ok. */
  waitFailover(deadPort: number, timeoutMs: number): Promise<void>;
  /** Kills every node and removes the temp dirs. Idempotent; never rejects. */
  stop(): Promise<void>;
}

const NODE_COUNT = 6;

/** A port `p` with `p` and its cluster bus port `p + 10000` free on 127.0.0.1. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) {
      taken.add(port);
      taken.add(port + 10_000);
      return port;
    }
  }
  throw new Error('no free port pair for a redis cluster node');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function startNode(port: number, dir: string): Promise<ClusterNodeHandle> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout',
    '1000',
  ];
  const { child, exited } = await spawnRedisServer(args, `redis-server (cluster) on port ${port}`);
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    port,
    process: child,
    alive,
    signal: (signal) => {
      if (alive()) child.kill(signal);
    },
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} timed out after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

/** One command to one node, on a short-lived connection; `undefined` when the node does not answer. */
async function ask(port: number, ...command: [string, ...string[]]): Promise<unknown> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 500,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(...command);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts six cluster-mode redis-servers on free 127.0.0.1 ports (node timeout 1 s, no persistence,
 * each in its own temp dir), joins them with `redis-cli --cluster create --cluster-replicas 1`, and
 * resolves once every node reports `cluster_state:ok` and every master has its replica online.
 * A failure on the way stops whatever was started.
 */
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  assertRedisServerOnPath();
  const dir = mkdtempSync(join(tmpdir(), 'costspan-cluster-'));
  const nodes: ClusterNodeHandle[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      for (const node of nodes) node.signal('SIGCONT');
      await Promise.all(nodes.map((node) => node.kill().catch(() => undefined)));
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const alive = (): ClusterNodeHandle[] => nodes.filter((node) => node.alive());
  const handle: RedisClusterHandle = {
    nodes,
    startupNodes: [],
    masterOf: async (key) => {
      for (const node of alive()) {
        const slot = await ask(node.port, 'CLUSTER', 'KEYSLOT', key);
        const shards = (await ask(node.port, 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][] | undefined;
        const shard = shards?.find(([from, to]) => typeof slot === 'number' && slot >= from && slot <= to);
        if (shard !== undefined) return Number(shard[2][1]);
      }
      throw new Error(`no live node knows the master of ${key}`);
    },
    replicaOf: async (masterPort) => {
      const info = await ask(masterPort, 'INFO', 'replication');
      const port = typeof info === 'string' ? /slave0:ip=[^,]+,port=(\d+)/.exec(info)?.[1] : undefined;
      const replica = nodes.find((node) => String(node.port) === port);
      if (replica === undefined) throw new Error(`no replica of the master on ${masterPort}: ${String(info)}`);
      return replica;
    },
    waitHealthy: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const infos = await Promise.all(alive().map((node) => ask(node.port, 'CLUSTER', 'INFO')));
        if (infos.every((info) => typeof info === 'string' && info.includes('cluster_state:ok'))) return;
        await sleep(100);
      }
      throw new Error(`the redis cluster did not become healthy within ${timeoutMs} ms`);
    },
    waitFailover: async (deadPort, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const maps = (await Promise.all(alive().map((node) => ask(node.port, 'CLUSTER', 'SLOTS')))) as (
          [number, number, [string, number]][] | undefined
        )[];
        const moved = maps.every(
          (shards) => shards !== undefined && shards.length > 0 && shards.every((shard) => Number(shard[2][1]) !== deadPort),
        );
        if (moved) return await handle.waitHealthy(Math.max(1, deadline - Date.now()));
        await sleep(100);
      }
      throw new Error(`no replica took over from the master on ${deadPort} within ${timeoutMs} ms`);
    },
    stop,
  };
  try {
    const taken = new Set<number>();
    for (let index = 0; index < NODE_COUNT; index += 1) {
      const nodeDir = join(dir, `node-${index}`);
      mkdirSync(nodeDir);
      nodes.push(await startNode(await freeClusterPort(taken), nodeDir));
    }
    (handle.startupNodes as { host: string; port: number }[]).push(...nodes.map((node) => ({ host: '127.0.0.1', port: node.port })));
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      30_000,
    );
    await handle.waitHealthy(20_000);
    await waitReplicasOnline(nodes, 20_000);
    return handle;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitReplicasOnline(nodes: readonly ClusterNodeHandle[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const infos = await Promise.all(nodes.map((node) => ask(node.port, 'INFO', 'replication')));
    const masters = infos.filter((info) => typeof info === 'string' && info.includes('role:master'));
    const online = masters.filter((info) => (info as string).includes('state=online'));
    if (masters.length === NODE_COUNT / 2 && online.length === masters.length) return;
    await sleep(100);
  }
  throw new Error(`the redis cluster's replicas did not come online within ${timeoutMs} ms`);
}
