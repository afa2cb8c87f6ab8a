import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CostspanError, usdToPico } from '@costspan/core';
import { startRedisCluster, type RedisClusterHandle } from './__fixtures__/redis-cluster.js';
import { assertRedisServerOnPath } from './__fixtures__/redis-server.js';
import { slowEveryRoundTrip } from './__fixtures__/slow-redis.js';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';
import type { BudgetGuardOptions } from './budget-guard-types.js';
import { RedisClusterBudgetStore, type RedisClusterBudgetStoreOptions } from './redis-cluster-budget-store.js';
import { counterKeys } from './redis-cluster-keys.js';

// Without redis-server this file fails here, at once, with the install command: no test is reported as skipped.
assertRedisServerOnPath();

let cluster: RedisClusterHandle;
const stores: RedisClusterBudgetStore[] = [];
let prefixes = 0;
const DAY = '2026-03-04';
const NOW = Date.UTC(2026, 2, 4, 12);

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 45_000);

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await cluster?.stop();
});

function clusterStore(options: Partial<RedisClusterBudgetStoreOptions> = {}, keyPrefix = `c${(prefixes += 1)}:`) {
  const store = new RedisClusterBudgetStore({ nodes: [...cluster.startupNodes], keyPrefix, timeoutMs: 2000, ...options });
  stores.push(store);
  return { store, keyPrefix };
}

function clusterGuard(options: Partial<BudgetGuardOptions> & Pick<BudgetGuardOptions, 'limits'>, store: RedisClusterBudgetStore) {
  return new BudgetGuard({ store, now: () => NOW, circuitBreaker: false, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(
    () => new Error('expected a rejection'),
    (caught: unknown) => caught,
  );
}

describe('RedisClusterBudgetStore against a real 3 + 3 node Redis Cluster', () => {
  it('spreads tenants over the masters, one slot per scope', async () => {
    const { store, keyPrefix } = clusterStore();
    const guard = clusterGuard({ limits: { user: { daily: { usd: 1 }, total: { usd: 10 } } } }, store);
    const users = Array.from({ length: 12 }, (_, index) => `user-${index}`);
    for (const userId of users) await guard.settle(await guard.reserve({ principal: { userId }, estimatedUsd: 0.1 }), 0.1);
    const masters = new Set<number>();
    for (const userId of users) {
      const [daily] = counterKeys(keyPrefix, `user_daily:${userId}:${DAY}`);
      const [total] = counterKeys(keyPrefix, `user_total:${userId}`);
      expect(await cluster.masterOf(total)).toBe(await cluster.masterOf(daily)); // one script per scope
      masters.add(await cluster.masterOf(daily));
    }
    expect(masters.size).toBe(3);
    const status = await guard.getBudget({ userId: 'user-7' });
    expect(status.limits.map((limit) => limit.exact)).toEqual([
      { limit: usdToPico(1), spent: usdToPico(0.1), reserved: 0n, remaining: usdToPico(0.9) },
      { limit: usdToPico(10), spent: usdToPico(0.1), reserved: 0n, remaining: usdToPico(9.9) },
    ]);
  });

  it('a call refused by one scope gives back what it reserved on the others (exact, beyond 2^53 pico-USD)', async () => {
    const { store } = clusterStore();
    const limits = { user: { daily: { usd: 1 } }, team: { daily: { usd: '20000.000000000003' } }, global: { daily: { usd: 100_000 } } };
    const guard = clusterGuard({ limits }, store);
    const alice = { userId: 'alice', teamId: 'search' };
    const bob = { teamId: 'search' }; // no user limit applies
    await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: 1 }), 1);
    const error = await rejection(guard.reserve({ principal: alice, estimatedUsd: 0.5 }));
    expect(BudgetExceededError.isInstance(error) && error.limitType).toBe('user_daily');
    const afterRefusal = await guard.getBudget(alice);
    expect(afterRefusal.limits.map((limit) => [limit.limitType, limit.exact.reserved])).toEqual([
      ['daily', 0n],
      ['user_daily', 0n],
      ['team_daily', 0n],
    ]);
    // The team's whole remaining budget is still there: nothing of alice's refused call is held.
    await guard.reserve({ principal: bob, estimatedUsd: '19999.000000000003' });
    const full = await rejection(guard.reserve({ principal: bob, estimatedUsd: '0.000000000001' }));
    expect(full).toMatchObject({ limitType: 'team_daily', currentExact: usdToPico('20000.000000000003') });
  });

  it('several processes reserving at once never pass a user, team or global limit', async () => {
    const { keyPrefix } = clusterStore();
    const limits = { user: { daily: { usd: 0.5 } }, team: { daily: { usd: 1 } }, global: { daily: { usd: 5 } } };
    const users = ['u1', 'u2', 'u3', 'u4'];
    const child = fileURLToPath(new URL('./__fixtures__/cluster-reserver-child.mjs', import.meta.url));
    const register = fileURLToPath(new URL('./__fixtures__/register-ts.mjs', import.meta.url));
    const args = [JSON.stringify(cluster.startupNodes), keyPrefix, '30', '0.03', JSON.stringify(limits), JSON.stringify(users)];
    const workers = [0, 1, 2].map(() => fork(child, args, { execArgv: ['--import', register], stdio: 'pipe' }));
    try {
      const outcomes = workers.map(
        (worker) =>
          new Promise<{ grantedByUser: Record<string, number>; calls: number }>((resolve, reject) => {
            let stderr = '';
            worker.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
            worker.on('message', (message: { grantedByUser?: Record<string, number>; calls: number; error?: string }) => {
              if (message.error !== undefined) reject(new Error(message.error));
              else if (message.grantedByUser !== undefined) resolve(message as { grantedByUser: Record<string, number>; calls: number });
            });
            worker.on('exit', (code) => {
              if (code !== 0) reject(new Error(`worker exited with ${code}: ${stderr}`));
            });
          }),
      );
      await Promise.all(workers.map((worker) => new Promise<void>((resolve) => worker.once('message', () => resolve()))));
      for (const worker of workers) worker.send('go');
      const results = await Promise.all(outcomes);
      expect(results.map((result) => result.calls)).toEqual([30, 30, 30]);
      const granted = (userId: string): number => results.reduce((sum, result) => sum + (result.grantedByUser[userId] ?? 0), 0);
      const total = users.reduce((sum, userId) => sum + granted(userId), 0);
      expect(total).toBeLessThanOrEqual(33); // 33 × $0.03 = $0.99 of the team's $1
      expect(total).toBeGreaterThan(16); // more than one user's $0.5 could hold: the scopes were checked apart
      const reader = clusterGuard({ limits, now: Date.now }, clusterStore({}, keyPrefix).store);
      for (const userId of users) {
        expect(granted(userId)).toBeLessThanOrEqual(16); // 16 × $0.03 = $0.48 of a user's $0.5
        const [global, user, team] = (await reader.getBudget({ userId, teamId: 'shared' })).limits.map((limit) => limit.exact);
        expect(user).toMatchObject({ spent: usdToPico(0.03) * BigInt(granted(userId)), reserved: 0n });
        expect(team).toMatchObject({ spent: usdToPico(0.03) * BigInt(total), reserved: 0n });
        expect(global).toMatchObject({ spent: usdToPico(0.03) * BigInt(total), reserved: 0n });
      }
    } finally {
      for (const worker of workers) worker.kill();
    }
  }, 60_000); // child start-up (TypeScript transpiled on the fly) dominates on a loaded machine

  it('rejects a settle no replica confirmed in time (WAIT), and books it without waiting when waitForReplicas is 0', async () => {
    const { store, keyPrefix } = clusterStore({ timeoutMs: 1000 });
    const { store: noWait } = clusterStore({ timeoutMs: 1000, waitForReplicas: 0 }, keyPrefix);
    const limits = { user: { daily: { usd: 10 } } };
    const guard = clusterGuard({ limits }, store);
    const unwaited = clusterGuard({ limits }, noWait);
    const carol = { userId: 'carol' };
    const replica = await cluster.replicaOf(await cluster.masterOf(counterKeys(keyPrefix, `user_daily:carol:${DAY}`)[0]));
    const reservation = await guard.reserve({ principal: carol, estimatedUsd: 1 });
    replica.signal('SIGSTOP');
    try {
      const started = Date.now();
      const error = await rejection(guard.settle(reservation, 1));
      expect(Date.now() - started).toBeLessThan(2000); // within 2x timeoutMs
      expect(CostspanError.isInstance(error) && error.code).toBe('budget_unavailable');
      expect(String((error as Error).message)).toMatch(/0 of 1 replica\(s\) confirmed it/);
      await unwaited.settle(await unwaited.reserve({ principal: carol, estimatedUsd: 1 }), 1);
    } finally {
      replica.signal('SIGCONT');
    }
    // Both spends are booked on the master; only the waited one was refused as not yet durable.
    expect((await unwaited.getBudget(carol)).limits[0]?.exact).toMatchObject({ spent: usdToPico(2), reserved: 0n });
  });

  it('a per-user override set through one store refuses through another at once, and reset clears every master', async () => {
    const { store, keyPrefix } = clusterStore();
    const { store: other } = clusterStore({}, keyPrefix);
    const limits = { user: { daily: { usd: 1 } } };
    const admin = clusterGuard({ limits }, store);
    const worker = clusterGuard({ limits }, other);
    await admin.setLimit({ userId: 'dave' }, { daily: { usd: 0.1 } });
    await admin.setLimit({ userId: 'erin' }, { daily: { usd: 3 } });
    expect(await rejection(worker.reserve({ principal: { userId: 'dave' }, estimatedUsd: 0.2 }))).toMatchObject({
      limitType: 'user_daily',
    });
    await worker.settle(await worker.reserve({ principal: { userId: 'erin' }, estimatedUsd: 2 }), 2);
    expect((await worker.listLimits()).map((override) => override.scope)).toEqual(['user:dave', 'user:erin']);
    expect(await admin.removeLimit({ userId: 'dave' })).toBe(true);
    await worker.reserve({ principal: { userId: 'dave' }, estimatedUsd: 0.2 });
    await store.reset();
    expect(await worker.listLimits()).toEqual([]);
    expect((await worker.getBudget({ userId: 'erin' })).limits[0]?.exact).toMatchObject({ spent: 0n, reserved: 0n });
  });

  it('reset(target) on a slow cluster: the overrides read and the UNLINK share one timeoutMs, rejecting as budget_unavailable', async () => {
    const timeoutMs = 600;
    const { store } = clusterStore({ timeoutMs });
    const guard = clusterGuard({ limits: { user: { daily: { usd: 1 } } } }, store);
    await guard.getBudget({ userId: 'fay' }); // connected, the slot map known
    // Every round trip answers after 450 ms, within the timeout; the two of the call together do not.
    const pauseAll = (signal: NodeJS.Signals): void => cluster.nodes.forEach((node) => node.signal(signal));
    const restore = slowEveryRoundTrip(store.client, pauseAll, 0.75 * timeoutMs);
    const started = Date.now();
    const error = await rejection(guard.reset({ userId: 'fay' }));
    const ms = Date.now() - started;
    restore();
    expect(error).toMatchObject({ code: 'budget_unavailable' });
    expect(ms).toBeLessThan(timeoutMs + 200); // one timeout for the call (was one per round trip: ~900 ms, resolved)
  });

  it('slides a rolling window on the cluster store as on one node', async () => {
    const { store } = clusterStore();
    let now = NOW;
    const guard = clusterGuard({ limits: { user: { rolling: { windowMs: 60_000, bucketMs: 10_000, usd: 1 } } }, now: () => now }, store);
    const frank = { userId: 'frank' };
    await guard.settle(await guard.reserve({ principal: frank, estimatedUsd: 1 }), 1);
    now += 30_000;
    expect(await rejection(guard.reserve({ principal: frank, estimatedUsd: 0.1 }))).toMatchObject({ limitType: 'user_rolling' });
    now += 40_000; // the bucket of the first spend has left the last 60 s
    await guard.reserve({ principal: frank, estimatedUsd: 1 });
  });

  it('keeps history bounded in time as one node does: its list expires 30 days after the last sample', async () => {
    const { store, keyPrefix } = clusterStore();
    await store.addSample('research/plan', { pico: 5n, tokens: 7n, at: NOW }, 10);
    expect(await store.readSamples('research/plan')).toEqual([{ pico: 5n, tokens: 7n, at: NOW }]);
    expect(await store.client.pttl(`${keyPrefix}history:research/plan`)).toBeGreaterThan(29 * 86_400_000);
  });

  it("claimOnce and addSample count a given startedAt's timeout: once it is used up they send nothing", async () => {
    const { store } = clusterStore({ timeoutMs: 200 });
    const late = { startedAt: Date.now() - 200 };
    await expect(store.claimOnce('k', 0, late)).rejects.toThrow(/SET NX not sent/);
    await expect(store.addSample('a', { pico: 1n, tokens: 1n, at: 0 }, 5, late)).rejects.toThrow(/MULTI not sent/);
    expect(await store.claimOnce('k', 0, { startedAt: Date.now() })).toBe(true); // the late claim did not take it
    expect(await store.readSamples('a')).toEqual([]);
  });

  it("a reserve refused by one scope gives the others back within the reserve's timeout, or queues the give-back", async () => {
    const timeoutMs = 400;
    const { store, keyPrefix } = clusterStore({ timeoutMs });
    const master = async (key: string): Promise<number> => await cluster.masterOf(counterKeys(keyPrefix, key)[0]);
    const userKey = `user_daily:u0:${DAY}`;
    let teamKey = `team_daily:t0:${DAY}`;
    for (let index = 1; (await master(teamKey)) === (await master(userKey)); index += 1) teamKey = `team_daily:t${index}:${DAY}`;
    const [userPort, teamPort] = [await master(userKey), await master(teamKey)];
    const refusing = cluster.nodes.find((node) => node.port === userPort)!;
    const holding = cluster.nodes.find((node) => node.port === teamPort)!;
    const teamHash = counterKeys(keyPrefix, teamKey)[0];
    const probe = new Redis({ host: '127.0.0.1', port: teamPort });
    const counters = [
      { key: userKey, limitPico: 1n, ttlMs: 86_400_000 }, // refuses the 10 pico-USD
      { key: teamKey, limitPico: 1_000_000n, ttlMs: 86_400_000 }, // holds them until given back
    ];
    await store.read([userKey, teamKey], NOW); // both masters connected, the script loaded
    try {
      refusing.signal('SIGSTOP'); // its refusal comes late, when the team's master hangs
      const started = Date.now();
      const reserving = store.reserve({
        id: 'late-refusal',
        counters,
        pico: 10n,
        tokens: 0n,
        expiresAt: NOW + 300_000,
        now: NOW,
        check: 'projected',
      });
      while ((await probe.hget(teamHash, 'rp')) !== '10') await new Promise((resolve) => setTimeout(resolve, 5));
      holding.signal('SIGSTOP'); // the team's reservation is made; its give-back will hang
      await new Promise((resolve) => setTimeout(resolve, 300 - (Date.now() - started)));
      refusing.signal('SIGCONT');
      const refusal = await reserving;
      const elapsed = Date.now() - started;
      expect(refusal).toMatchObject({ index: 0, unit: 'usd' });
      expect(elapsed).toBeLessThan(1.5 * timeoutMs); // the give-back shares the reserve's deadline
      expect(store.orphanedReservations).toBe(1); // it could not complete in time: queued, not lost
      holding.signal('SIGCONT');
      for (let attempt = 0; attempt < 60 && store.orphanedReservations > 0; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(store.orphanedReservations).toBe(0);
      expect(await store.read([userKey, teamKey], NOW)).toEqual([
        { spentPico: 0n, spentTokens: 0n, reservedPico: 0n, reservedTokens: 0n },
        { spentPico: 0n, spentTokens: 0n, reservedPico: 0n, reservedTokens: 0n }, // given back once, not twice
      ]);
    } finally {
      refusing.signal('SIGCONT');
      holding.signal('SIGCONT');
      probe.disconnect();
    }
  }, 15_000);

  // Last: it leaves the cluster with one master fewer.
  it('killing a master mid-run applies the failure policy within the timeout and loses no settled spend', async () => {
    const timeoutMs = 500;
    const { store, keyPrefix } = clusterStore({ timeoutMs });
    const limits = { user: { daily: { usd: 1000 } } };
    const strict = new BudgetGuard({ store, limits, circuitBreaker: false });
    const lenient = new BudgetGuard({ store, limits, circuitBreaker: false, failOpen: true, onError: () => undefined });
    const users = Array.from({ length: 12 }, (_, index) => `worker-${index}`);
    const masterOfUser = new Map<string, number>();
    for (const userId of users) masterOfUser.set(userId, await cluster.masterOf(counterKeys(keyPrefix, `user_daily:${userId}:x`)[0]));
    const victim = masterOfUser.get(users[0]!)!;
    const acked = new Map<string, bigint>();
    const attempted = new Map<string, bigint>();
    const failures: { ms: number; code: unknown; message: string }[] = [];
    const unbacked: number[] = [];
    const outage = { from: 0, to: 0 }; // set when the master is killed, and when its replica took over
    const duringOutage = { survivorSettles: 0, victimReservesAfter: 0 };
    let running = true;
    const cost = usdToPico('0.001');
    const worker = async (userId: string, guard: BudgetGuard): Promise<void> => {
      while (running) {
        let started = Date.now();
        try {
          const reservation = await guard.reserve({ principal: { userId }, estimatedUsd: cost });
          if (!reservation.backed) unbacked.push(Date.now() - started);
          if (outage.to > 0 && reservation.backed && masterOfUser.get(userId) === victim) duringOutage.victimReservesAfter += 1;
          attempted.set(userId, (attempted.get(userId) ?? 0n) + cost);
          started = Date.now();
          await guard.settle(reservation, cost);
          acked.set(userId, (acked.get(userId) ?? 0n) + cost);
          const onVictim = masterOfUser.get(userId) === victim;
          if (outage.from > 0 && !onVictim && outage.to === 0) duringOutage.survivorSettles += 1;
        } catch (error) {
          if (!CostspanError.isInstance(error)) throw error;
          failures.push({ ms: Date.now() - started, code: error.code, message: error.message });
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const loops = users.map((userId, index) => worker(userId, index % 3 === 2 ? lenient : strict));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const node = cluster.nodes.find((candidate) => candidate.port === victim)!;
    outage.from = Date.now();
    await node.kill();
    await cluster.waitFailover(victim, 15_000);
    outage.to = Date.now();
    const unconfirmed = (): boolean => failures.some((failure) => failure.message.includes('0 of 1 replica(s) confirmed it'));
    // Run on until the victim's tenants reserve again and a settle there met the missing replica (bounded).
    for (let waited = 0; waited < 20_000 && !(duringOutage.victimReservesAfter >= 10 && unconfirmed()); waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    running = false;
    await Promise.all(loops);

    expect(failures.length).toBeGreaterThan(0);
    expect(new Set(failures.map((failure) => failure.code))).toEqual(new Set(['budget_unavailable']));
    // Each call's round trips (the overrides read, then the reservation or the commit) share one timeoutMs: 1 ×, plus slack.
    const bound = 2 * timeoutMs;
    expect(Math.max(...failures.map((failure) => failure.ms))).toBeLessThan(bound); // the policy, within the timeout
    expect(unbacked.length).toBeGreaterThan(0); // failOpen admitted calls while the master was away
    expect(Math.max(...unbacked)).toBeLessThan(bound);
    expect(duringOutage.survivorSettles).toBeGreaterThan(0); // tenants on the other masters kept working
    expect(duringOutage.victimReservesAfter).toBeGreaterThan(0); // and the victim's came back after the failover
    // Its new master has no replica until the old one rejoins: settles there are booked but not durable, and say so.
    expect(unconfirmed()).toBe(true);
    const reader = new BudgetGuard({ store: clusterStore({}, keyPrefix).store, limits });
    for (const userId of users) {
      const spent = (await reader.getBudget({ userId })).limits[0]!.exact.spent;
      expect(spent).toBeGreaterThanOrEqual(acked.get(userId) ?? 0n); // no settled spend lost
      expect(spent).toBeLessThanOrEqual(attempted.get(userId) ?? 0n); // nothing booked twice
    }
  }, 60_000);
});
