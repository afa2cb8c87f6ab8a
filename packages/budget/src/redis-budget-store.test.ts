import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import { assertRedisServerOnPath, redisInstallCommand, startRedisServer, type RedisServerHandle } from './__fixtures__/redis-server.js';
import { BudgetGuard } from './budget-guard.js';
import { type BudgetAlert, type BudgetGuardOptions } from './budget-guard-types.js';
import { RedisBudgetStore } from './redis-budget-store.js';
import { REDIS_BUDGET_SCRIPT_SHA } from './redis-budget-script.js';
import { refusal } from './__fixtures__/guard-fixtures.js';

// Without redis-server this file fails here, at once, with the install command: no test is reported as skipped.
assertRedisServerOnPath();

let server: RedisServerHandle;
let admin: Redis;
const stores: RedisBudgetStore[] = [];
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  admin?.disconnect();
  await server?.stop();
});

function redisGuard(options: Partial<BudgetGuardOptions> & Pick<BudgetGuardOptions, 'limits'>, keyPrefix = `t${(prefixes += 1)}:`) {
  const store = new RedisBudgetStore({ url: server.url, keyPrefix, timeoutMs: 2000 });
  stores.push(store);
  return { guard: new BudgetGuard({ store, ...options }), store, keyPrefix };
}

describe('RedisBudgetStore against a real redis-server', () => {
  it('reserves, settles and releases atomically, with exact money beyond 2^53 pico-USD', async () => {
    const { guard, keyPrefix } = redisGuard({ limits: { org: { total: { usd: '20000.000000000003' } } }, circuitBreaker: false });
    const acme = { orgId: 'acme' };
    for (let index = 0; index < 2; index += 1) {
      await guard.settle(await guard.reserve({ principal: acme, estimatedUsd: '10000.000000000001' }), '10000.000000000001');
    }
    expect(await admin.hget(`${keyPrefix}org_total:acme`, 'sp')).toBe('20000000000000002');
    const last = await guard.reserve({ principal: acme, estimatedUsd: '0.000000000001' });
    const error = await refusal(guard.reserve({ principal: acme, estimatedUsd: '0.000000000001' }));
    expect(error).toMatchObject({ limitType: 'org_total', currentExact: usdToPico('20000.000000000003') });
    await guard.release(last);
    const status = await guard.getBudget(acme);
    expect(status.limits[0]?.exact).toEqual({
      limit: usdToPico('20000.000000000003'),
      spent: usdToPico('20000.000000000002'),
      reserved: 0n,
      remaining: 1n,
    });
    expect(await admin.zcard(`${keyPrefix}org_total:acme:reservations`)).toBe(0);
  });

  it('gives a reservation back once Redis answers again when its settle never reached it', async () => {
    const { guard, store } = redisGuard({ limits: { user: { daily: { usd: 1 } } }, circuitBreaker: false, onError: () => undefined });
    const alice = { userId: 'leak-alice' };
    const reservation = await guard.reserve({ principal: alice, estimatedUsd: 0.9 });
    // Drop the store's connection: the settle fails before its script is sent.
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await expect(guard.settle(reservation, 0.1)).rejects.toMatchObject({ code: 'budget_unavailable' });
    let reserved = Number.NaN;
    for (let attempt = 0; attempt < 40 && reserved !== 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      reserved = (await guard.getBudget(alice).catch(() => undefined))?.limits[0]?.reserved ?? Number.NaN;
    }
    expect(reserved).toBe(0);
    expect(store.orphanedReservations).toBe(0);
    await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: 0.9 }), 0.9);
  });

  it('falls back to EVAL after the script cache is flushed', async () => {
    const { guard } = redisGuard({ limits: { global: { daily: { usd: 1 } } } });
    await guard.reserve({ estimatedUsd: 0.1 });
    await admin.script('FLUSH');
    await guard.reserve({ estimatedUsd: 0.1 });
    expect(await admin.script('EXISTS', REDIS_BUDGET_SCRIPT_SHA)).toEqual([1]);
    expect((await guard.getBudget()).limits[0]).toMatchObject({ reserved: 0.2 });
  });

  it('two processes reserving concurrently never pass one limit', async () => {
    const keyPrefix = `procs${(prefixes += 1)}:`;
    const child = fileURLToPath(new URL('./__fixtures__/reserver-child.mjs', import.meta.url));
    const register = fileURLToPath(new URL('./__fixtures__/register-ts.mjs', import.meta.url));
    const workers = [0, 1].map(() =>
      fork(child, [server.url, keyPrefix, '40', '0.03', '1'], { execArgv: ['--import', register], stdio: 'pipe' }),
    );
    const outcomes = workers.map(
      (worker) =>
        new Promise<{ granted: number; refused: number }>((resolve, reject) => {
          let stderr = '';
          worker.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          worker.on('message', (message: { granted?: number; refused?: number; error?: string }) => {
            if (message.error !== undefined) reject(new Error(message.error));
            else if (message.granted !== undefined) resolve(message as { granted: number; refused: number });
          });
          worker.on('exit', (code) => {
            if (code !== 0) reject(new Error(`worker exited with ${code}: ${stderr}`));
          });
        }),
    );
    // Both start only once both are ready, so their reservations interleave.
    await Promise.all(workers.map((worker) => new Promise<void>((resolve) => worker.once('message', () => resolve()))));
    for (const worker of workers) worker.send('go');
    const results = await Promise.all(outcomes);
    expect(results.map((result) => result.granted + result.refused)).toEqual([40, 40]);
    const granted = results.reduce((sum, result) => sum + result.granted, 0);
    expect(granted).toBe(33); // 33 × $0.03 = $0.99; a 34th would make $1.02
    const reader = redisGuard({ limits: { global: { daily: { usd: 1 } } } }, keyPrefix).guard;
    expect((await reader.getBudget()).limits[0]?.exact).toMatchObject({ spent: usdToPico(0.99), reserved: 0n });
  }, 60_000);

  it('rolls windows over at midnight in the configured time zone, with per-window key TTLs', async () => {
    let now = Date.UTC(2026, 0, 15, 4, 59, 59, 999); // 23:59:59.999 on Jan 14 in New York
    const { guard, keyPrefix } = redisGuard({
      limits: { global: { daily: { usd: 1 }, total: { usd: 10 } } },
      timeZone: 'America/New_York',
      now: () => now,
    });
    await guard.settle(await guard.reserve({ estimatedUsd: 1 }), 1);
    expect(await refusal(guard.reserve({ estimatedUsd: 0.01 }))).toMatchObject({ limitType: 'daily', window: '2026-01-14' });
    now += 1;
    await expect(guard.reserve({ estimatedUsd: 1 })).resolves.toBeDefined();
    const dailyTtl = await admin.pttl(`${keyPrefix}daily:2026-01-14`);
    expect(dailyTtl).toBeGreaterThan(47 * 3_600_000);
    expect(dailyTtl).toBeLessThanOrEqual(48 * 3_600_000);
    expect(await admin.pttl(`${keyPrefix}total`)).toBe(-1);
  });

  it('keeps a monthly counter 33 days after its last write', async () => {
    const { guard, keyPrefix } = redisGuard({ limits: { global: { monthly: { usd: 1 } } }, now: () => Date.UTC(2026, 1, 10) });
    await guard.settle(await guard.reserve({ estimatedUsd: 0.5 }), 0.5);
    const monthlyTtl = await admin.pttl(`${keyPrefix}monthly:2026-02`);
    expect(monthlyTtl).toBeGreaterThan(33 * 86_400_000 - 60_000);
    expect(monthlyTtl).toBeLessThanOrEqual(33 * 86_400_000);
  });

  it('lapses reservations of a crashed worker inside the script', async () => {
    let now = Date.UTC(2026, 2, 4, 12);
    const limits = { user: { daily: { usd: 1 } } };
    const { guard: crashed, keyPrefix } = redisGuard({ limits, now: () => now, reservationTtlMs: 1000, circuitBreaker: false });
    const { guard: survivor } = redisGuard({ limits, now: () => now, circuitBreaker: false }, keyPrefix);
    const alice = { userId: 'alice' };
    await crashed.reserve({ principal: alice, estimatedUsd: 0.9 });
    expect(await refusal(survivor.reserve({ principal: alice, estimatedUsd: 0.2 }))).toMatchObject({ current: 0.9 });
    now += 1000;
    await expect(survivor.reserve({ principal: alice, estimatedUsd: 0.2 })).resolves.toBeDefined();
    expect(await admin.hget(`${keyPrefix}user_daily:alice:2026-03-04`, 'rp')).toBe('200000000000');
    expect(await admin.zcard(`${keyPrefix}user_daily:alice:2026-03-04:reservations`)).toBe(1);
  });

  it('fires an alert exactly once when workers sharing Redis cross a threshold concurrently', async () => {
    const alerts: BudgetAlert[] = [];
    const limits = { global: { daily: { alertAt: [{ usd: 0.5 }] } } };
    const { guard: first, keyPrefix } = redisGuard({ limits, onAlert: (alert) => alerts.push(alert) });
    const { guard: second } = redisGuard({ limits, onAlert: (alert) => alerts.push(alert) }, keyPrefix);
    const spend = { principal: {}, runId: 'r', rootRunId: 'r', agentName: 'a', usd: usdToPico(0.1), tokens: 10, timestamp: 0 };
    for (let index = 0; index < 10; index += 1) {
      first.record(spend);
      second.record(spend);
    }
    await Promise.all([first.flush(), second.flush()]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ threshold: 0.5, spent: 0.5 });
    expect((await first.getBudget()).limits[0]).toMatchObject({ spent: 2 });
  });

  it('commit answers each USD and token threshold a booking crossed, once, by counter and threshold position', async () => {
    const store = new RedisBudgetStore({ url: server.url, keyPrefix: `t${(prefixes += 1)}:`, timeoutMs: 2000 });
    stores.push(store);
    const counters = [
      { key: 'a', ttlMs: 0, alertsPico: [10n, 20n, 30n], alertsTokens: [5n] },
      { key: 'b', ttlMs: 0, alertsTokens: [1n, 100n] },
    ];
    const book = (pico: bigint, tokens: bigint) => store.commit({ now: 0, spend: { counters, pico, tokens } });
    expect(await book(20n, 1n)).toEqual([
      { index: 0, unit: 'usd', threshold: 0, spent: 20n },
      { index: 0, unit: 'usd', threshold: 1, spent: 20n },
      { index: 1, unit: 'tokens', threshold: 0, spent: 1n },
    ]);
    // b's token threshold 1 was crossed by the first booking: not again.
    expect(await book(5n, 4n)).toEqual([{ index: 0, unit: 'tokens', threshold: 0, spent: 5n }]);
    expect(await book(10n, 0n)).toEqual([{ index: 0, unit: 'usd', threshold: 2, spent: 35n }]);
  });

  it("claimOnce and addSample count a given startedAt's timeout: once it is used up they send nothing", async () => {
    const store = new RedisBudgetStore({ url: server.url, keyPrefix: `t${(prefixes += 1)}:`, timeoutMs: 200 });
    stores.push(store);
    expect(await store.readSamples('a')).toEqual([]); // connected
    const late = { startedAt: Date.now() - 200 };
    await expect(store.claimOnce('k', 0, late)).rejects.toThrow(/SET NX not sent/);
    await expect(store.addSample('a', { pico: 1n, tokens: 1n, at: 0 }, 5, late)).rejects.toThrow(/MULTI not sent/);
    expect(await store.claimOnce('k', 0, { startedAt: Date.now() })).toBe(true); // the late claim did not take it
    expect(await store.readSamples('a')).toEqual([]); // nor the late sample
  });

  it('leaves a client it was given open', async () => {
    const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const store = new RedisBudgetStore({ client, keyPrefix: `own${(prefixes += 1)}:` });
    const guard = new BudgetGuard({ store, limits: { global: { daily: { usd: 1 } } } });
    await guard.reserve({ estimatedUsd: 0.5 });
    await store.close();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});

describe('Redis down or hung: the failure policy applies within the timeout', () => {
  it('fails closed (budget_unavailable) and open (allowed + onError) quickly when Redis is killed', async () => {
    const doomed = await startRedisServer();
    const errors: unknown[] = [];
    const closedStore = new RedisBudgetStore({ url: doomed.url, timeoutMs: 500, connectTimeoutMs: 500, onError: () => undefined });
    const openStore = new RedisBudgetStore({ url: doomed.url, timeoutMs: 500, connectTimeoutMs: 500, onError: () => undefined });
    const limits = { global: { daily: { usd: 1 } } };
    const failClosed = new BudgetGuard({ store: closedStore, limits, onError: (error) => errors.push(error) });
    const failOpen = new BudgetGuard({ store: openStore, limits, failOpen: true, onError: (error) => errors.push(error) });
    try {
      await failClosed.reserve({ estimatedUsd: 0.1 });
      await failOpen.reserve({ estimatedUsd: 0.1 });
      doomed.signal('SIGKILL');
      await doomed.stop();

      let started = Date.now();
      await expect(failClosed.reserve({ estimatedUsd: 0.1 })).rejects.toMatchObject({ code: 'budget_unavailable' });
      expect(Date.now() - started).toBeLessThan(2000);

      started = Date.now();
      const allowed = await failOpen.reserve({ estimatedUsd: 0.1 });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(allowed.backed).toBe(false);
      expect(errors).toEqual([expect.objectContaining({ code: 'budget_unavailable' })]);

      started = Date.now();
      expect(() =>
        failClosed.record({ principal: {}, runId: 'r', rootRunId: 'r', agentName: 'a', usd: 1n, tokens: 1, timestamp: 0 }),
      ).not.toThrow();
      await failClosed.flush();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(errors).toHaveLength(2);
    } finally {
      await Promise.all([closedStore.close(), openStore.close()]);
    }
  }, 10_000);

  it('times out instead of hanging when Redis stops answering, naming host and port but never the password', async () => {
    const hung = await startRedisServer({ args: ['--requirepass', 's3cret-pw'] });
    const store = new RedisBudgetStore({ url: `redis://:s3cret-pw@127.0.0.1:${hung.port}`, timeoutMs: 300, onError: () => undefined });
    const guard = new BudgetGuard({ store, limits: { global: { daily: { usd: 1 } } } });
    try {
      await guard.reserve({ estimatedUsd: 0.1 });
      hung.signal('SIGSTOP');
      const started = Date.now();
      const error = await guard.reserve({ estimatedUsd: 0.1 }).then(
        () => undefined,
        (caught: unknown) => caught as Error,
      );
      const elapsed = Date.now() - started;
      expect(error).toMatchObject({ code: 'budget_unavailable' });
      expect(error?.message).toBe(
        `budget store unavailable during reserve: redis 127.0.0.1:${hung.port} did not answer within 300 ms (EVALSHA)`,
      );
      expect(error?.message).not.toContain('s3cret');
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(2000);
    } finally {
      hung.signal('SIGCONT');
      await store.close();
      await hung.stop();
    }
  }, 10_000);

  it('a fail-open reserve against a hung Redis fails open within one timeoutMs, its overrides read included', async () => {
    const timeoutMs = 400;
    const hung = await startRedisServer();
    const store = new RedisBudgetStore({ url: hung.url, timeoutMs, onError: () => undefined });
    const errors: unknown[] = [];
    // A user limit: the reserve first reads the user's limit overrides (HMGET), then reserves (EVALSHA).
    const guard = new BudgetGuard({
      store,
      limits: { user: { daily: { usd: 1 } } },
      failOpen: true,
      onError: (error) => errors.push(error),
    });
    try {
      await guard.release(await guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.1 }));
      hung.signal('SIGSTOP');
      const started = Date.now();
      const reservation = await guard.reserve({ principal: { userId: 'alice' }, estimatedUsd: 0.1 });
      const elapsed = Date.now() - started;
      expect(reservation.backed).toBe(false);
      expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 50);
      expect(elapsed).toBeLessThan(1.5 * timeoutMs); // one deadline for the whole call, not one per round trip
      expect(errors.length).toBeGreaterThan(0);
      expect(errors).toEqual(errors.map(() => expect.objectContaining({ code: 'budget_unavailable' })));
      // Its time used up by the overrides read, the reservation script was never sent: nothing to give back later.
      expect(store.orphanedReservations).toBe(0);
    } finally {
      hung.signal('SIGCONT');
      await store.close();
      await hung.stop();
    }
  }, 10_000);

  it('gives back a reservation whose reserve timed out once Redis answers again, not after the reservation TTL', async () => {
    const paused = await startRedisServer();
    const store = new RedisBudgetStore({ url: paused.url, keyPrefix: 'orphan:', timeoutMs: 300, onError: () => undefined });
    const guard = new BudgetGuard({ store, limits: { global: { daily: { usd: 1 } } }, circuitBreaker: false });
    const reader = new Redis(paused.url, { enableOfflineQueue: true });
    try {
      await guard.release(await guard.reserve({ estimatedUsd: 0.1 }));
      paused.signal('SIGSTOP');
      await expect(guard.reserve({ estimatedUsd: 0.5 })).rejects.toMatchObject({ code: 'budget_unavailable' });
      expect(store.orphanedReservations).toBe(1);
      paused.signal('SIGCONT');
      // The timed-out script runs now that Redis answers; the store then releases what it reserved.
      const counter = (await reader.keys('orphan:daily:*')).find((key) => !key.endsWith(':reservations'));
      expect(counter).toBeDefined();
      let held: { reserved: string | null; members: number } = { reserved: 'unknown', members: -1 };
      for (let attempt = 0; attempt < 100; attempt += 1) {
        held = { reserved: await reader.hget(counter!, 'rp'), members: await reader.zcard(`${counter!}:reservations`) };
        if (held.reserved === '0' && held.members === 0 && store.orphanedReservations === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(held).toEqual({ reserved: '0', members: 0 });
      expect(store.orphanedReservations).toBe(0);
      await expect(guard.reserve({ estimatedUsd: 1 })).resolves.toMatchObject({ backed: true });
    } finally {
      paused.signal('SIGCONT');
      reader.disconnect();
      await store.close();
      await paused.stop();
    }
  }, 15_000);

  it('says how to install redis-server when it is missing', () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(() => assertRedisServerOnPath()).toThrow(
        `Install it with \`${redisInstallCommand()}\` (or run \`npm test\`, whose pretest installs it when it can)`,
      );
      expect(redisInstallCommand()).toMatch(/^(sudo )?apt-get update && (sudo )?apt-get install -y --no-install-recommends redis-server$/);
    } finally {
      process.env.PATH = path;
    }
  });
});
