import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { BudgetGuard, InMemoryBudgetStore, RedisBudgetStore, RedisClusterBudgetStore, type BudgetStore } from '@costspan/budget';
import { median, type BenchRow } from '../src/harness.js';

// Case: reserve + settle per second through BudgetGuard on each store, one call after another
// (latency-bound, as one agent step waits for its reservation), against a bare Redis INCRBY round
// trip on the same single node measured in the same run. The case starts its own redis-server
// processes (one single node, one 3 masters + 3 replicas cluster) and stops them.

async function freePort(taken: Set<number>): Promise<number> {
  const free = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 200; attempt += 1) {
    // The cluster bus listens on port + 10000: keep both free and below 65536.
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (taken.has(port) || !(await free(port)) || !(await free(port + 10_000))) continue;
    taken.add(port);
    return port;
  }
  throw new Error('no free port for redis-server');
}

function startServer(port: number, extra: string[]): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}: ${output}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (!output.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      child.stdout?.resume();
      child.stderr?.resume();
      resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))));
  });
}

async function clusterOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const states = await Promise.all(
      ports.map(async (port) => {
        const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        client.on('error', () => undefined);
        try {
          await client.connect();
          const info = String(await client.call('CLUSTER', 'INFO'));
          const replication = String(await client.call('INFO', 'replication'));
          return info.includes('cluster_state:ok') && (replication.includes('role:slave') || replication.includes('state=online'));
        } catch {
          return false;
        } finally {
          client.disconnect();
        }
      }),
    );
    if (states.every(Boolean)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the bench redis cluster did not become ready');
}

/** Calls per second of `count` sequential `call`s, median of `rounds`. */
async function rate(count: number, rounds: number, call: (index: number) => Promise<unknown>): Promise<number> {
  for (let index = 0; index < Math.min(100, count); index += 1) await call(index); // warm-up
  const samples: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const start = performance.now();
    for (let index = 0; index < count; index += 1) await call(index);
    samples.push((count / (performance.now() - start)) * 1000);
  }
  return median(samples);
}

/** Calls per second of `count` `call`s, `concurrency` at a time, median of `rounds`. */
async function concurrentRate(
  count: number,
  rounds: number,
  concurrency: number,
  call: (index: number) => Promise<unknown>,
): Promise<number> {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) await call((next += 1));
      }),
    );
    samples.push((count / (performance.now() - start)) * 1000);
  }
  return median(samples);
}

/** reserve + settle per second for 64 users under user, team and global daily limits (`concurrency` callers). */
async function guardRate(store: BudgetStore, count: number, rounds: number, concurrency = 1): Promise<number> {
  const guard = new BudgetGuard({
    store,
    limits: { user: { daily: { usd: 1e9 } }, team: { daily: { usd: 1e9 } }, global: { daily: { usd: 1e9 } } },
    circuitBreaker: false,
  });
  try {
    const call = async (index: number): Promise<void> => {
      const principal = { userId: `user-${index % 64}`, teamId: `team-${index % 8}` };
      await guard.settle(await guard.reserve({ principal, estimatedUsd: 0.001 }), 0.001);
    };
    return concurrency === 1 ? await rate(count, rounds, call) : await concurrentRate(count, rounds, concurrency, call);
  } finally {
    await guard.shutdown();
  }
}

export async function budgetThroughput(options: { smoke: boolean }): Promise<BenchRow[]> {
  const count = options.smoke ? 150 : 2000;
  const rounds = options.smoke ? 1 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'costspan-bench-redis-'));
  const servers: ChildProcess[] = [];
  const clients: { close: () => Promise<void> }[] = [];
  try {
    const taken = new Set<number>();
    const single = await freePort(taken);
    servers.push(await startServer(single, []));
    const clusterPorts: number[] = [];
    for (let index = 0; index < 6; index += 1) {
      const port = await freePort(taken);
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const extra = [
        '--dir',
        nodeDir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(nodeDir, 'nodes.conf'),
        '--cluster-node-timeout',
        '1000',
      ];
      servers.push(await startServer(port, extra));
      clusterPorts.push(port);
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...clusterPorts.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    await clusterOk(clusterPorts);
    const nodes = clusterPorts.map((port) => ({ host: '127.0.0.1', port }));

    const bare = new Redis({ port: single, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    clients.push({ close: async () => void (await bare.quit()) });
    const incrby = await rate(count, rounds, (index) => bare.incrby(`bench:incr:${index % 64}`, 1000));
    const bareCluster = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 0 } });
    clients.push({ close: async () => void (await bareCluster.quit()) });
    const clusterIncrby = await rate(count, rounds, (index) => bareCluster.incrby(`bench:incr:${index % 64}`, 1000));

    const stores: { name: string; store: () => BudgetStore }[] = [
      { name: 'in-memory store', store: () => new InMemoryBudgetStore() },
      { name: 'Redis single node', store: () => new RedisBudgetStore({ url: `redis://127.0.0.1:${single}` }) },
      { name: 'Redis Cluster, settles WAIT 1 replica (default)', store: () => new RedisClusterBudgetStore({ nodes }) },
      {
        name: 'Redis Cluster, waitForReplicas 0',
        store: () => new RedisClusterBudgetStore({ nodes, waitForReplicas: 0, keyPrefix: 'nowait:' }),
      },
    ];
    const rows: BenchRow[] = [
      { name: 'bare INCRBY round trip, single node (calls/s)', value: incrby, unit: 'calls/s' },
      {
        name: 'bare INCRBY round trip, cluster (calls/s)',
        value: clusterIncrby,
        unit: 'calls/s',
        baseline: incrby,
        baselineName: 'INCRBY single node',
      },
    ];
    for (const concurrency of [1, 64]) {
      for (const { name, store } of stores) {
        const created = store();
        clients.push({ close: () => created.close() });
        const value = await guardRate(created, count, rounds, concurrency);
        const callers = concurrency === 1 ? 'one caller' : `${concurrency} concurrent callers`;
        rows.push({
          name: `reserve+settle, ${name}, ${callers} (calls/s)`,
          value,
          unit: 'calls/s',
          baseline: incrby,
          baselineName: 'INCRBY single node',
        });
      }
    }
    return rows;
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    for (const server of servers) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
