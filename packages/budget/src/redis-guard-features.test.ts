import { fork, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import { assertRedisServerOnPath, startRedisServer, type RedisServerHandle } from './__fixtures__/redis-server.js';
import { BudgetGuard } from './budget-guard.js';
import type { BudgetAlert, BudgetGuardOptions } from './budget-guard-types.js';
import { RedisBudgetStore } from './redis-budget-store.js';
import { refusal } from './__fixtures__/guard-fixtures.js';

// Limits set at run time, alerts once across processes, sliding windows and history against a
// real redis-server. Without redis-server this file fails at once with the install command.
assertRedisServerOnPath();

let server: RedisServerHandle;
const stores: RedisBudgetStore[] = [];
let prefixes = 0;
const T0 = Date.UTC(2026, 2, 4, 12, 0, 0);

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await server?.stop();
});

function redisStore(keyPrefix: string): RedisBudgetStore {
  const store = new RedisBudgetStore({ url: server.url, keyPrefix, timeoutMs: 2000 });
  stores.push(store);
  return store;
}

function redisGuard(options: Partial<BudgetGuardOptions> & Pick<BudgetGuardOptions, 'limits'>, keyPrefix: string) {
  return new BudgetGuard({ store: redisStore(keyPrefix), onError: () => undefined, circuitBreaker: false, ...options });
}

/** Sends one message to the admin child and waits for its answer. */
function ask(child: ChildProcess, message: object): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('message', (reply: { done?: boolean; error?: string }) =>
      reply.error === undefined ? resolve() : reject(new Error(reply.error)),
    );
    child.send(message);
  });
}

describe('BudgetGuard features on a real redis-server', () => {
  it('a per-user limit set in another process refuses here on the next reserve (one round trip, no cache)', async () => {
    const keyPrefix = `p${(prefixes += 1)}:`;
    const guard = redisGuard({ limits: { user: { daily: { usd: 1 } } } }, keyPrefix);
    const alice = { userId: 'alice' };
    await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: 0.2 }), 0.2);
    const child = fork(fileURLToPath(new URL('./__fixtures__/limit-admin-child.mjs', import.meta.url)), [server.url, keyPrefix], {
      execArgv: ['--import', fileURLToPath(new URL('./__fixtures__/register-ts.mjs', import.meta.url))],
      stdio: 'pipe',
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        let stderr = '';
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('exit', (code) => reject(new Error(`admin child exited with ${code}: ${stderr}`)));
      });
      await ask(child, { op: 'set', target: { userId: 'alice' }, limits: { daily: { usd: 0.1, tokens: 1_000_000 } } });
      const refused = await refusal(guard.reserve({ principal: alice, estimatedUsd: 0.01 }));
      expect(refused).toMatchObject({ limitType: 'user_daily', limitExact: usdToPico(0.1), spentExact: usdToPico(0.2) });
      await guard.reserve({ principal: { userId: 'bob' }, estimatedUsd: 0.5 }); // bob keeps the default
      expect(await guard.listLimits()).toEqual([
        { scope: 'user:alice', target: { userId: 'alice' }, limits: { daily: { usd: 0.1, tokens: 1_000_000 } } },
      ]);
      await ask(child, { op: 'remove', target: { userId: 'alice' } });
      await guard.reserve({ principal: alice, estimatedUsd: 0.01 });
    } finally {
      child.send({ op: 'exit' });
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }, 30_000);

  it('fires each alert threshold once per window across processes, also after a reset re-crosses it', async () => {
    const keyPrefix = `p${(prefixes += 1)}:`;
    const alerts: string[] = [];
    const limits = { global: { daily: { usd: 1, alertAt: [{ fraction: 0.5 }, { fraction: 0.8 }] } } };
    const onAlert = (name: string) => (alert: BudgetAlert) => alerts.push(`${name}:${alert.fraction}`);
    const one = redisGuard({ limits, now: () => T0, onAlert: onAlert('one') }, keyPrefix);
    const two = redisGuard({ limits, now: () => T0, onAlert: onAlert('two') }, keyPrefix);
    await Promise.all([one, two].map(async (guard) => guard.settle(await guard.reserve({ estimatedUsd: 0.3 }), 0.3)));
    expect(alerts).toHaveLength(1);
    await one.reset({});
    await Promise.all([one, two].map(async (guard) => guard.settle(await guard.reserve({ estimatedUsd: 0.45 }), 0.45)));
    // 50 % was told today already (by whichever crossed first); 80 % is new, and told once.
    expect(alerts.map((alert) => alert.split(':')[1])).toEqual(['0.5', '0.8']);
  });

  it('slides a rolling window in Redis buckets, exact to the pico', async () => {
    let now = T0;
    const guard = redisGuard(
      { limits: { user: { rolling: { usd: '0.000000000003', windowMs: 600_000, bucketMs: 60_000 } } }, now: () => now },
      `p${(prefixes += 1)}:`,
    );
    const alice = { userId: 'alice' };
    await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: '0.000000000002' }), '0.000000000002');
    now += 300_000;
    await guard.settle(await guard.reserve({ principal: alice, estimatedUsd: '0.000000000001' }), '0.000000000001');
    expect(await refusal(guard.reserve({ principal: alice, estimatedUsd: '0.000000000001' }))).toMatchObject({ window: 'rolling:10m' });
    now += 360_000; // the first booking's bucket left the window
    const [status] = await guard.spend({ userId: 'alice' }, 'rolling');
    expect(status?.exact.spent).toBe(1n);
    await guard.reserve({ principal: alice, estimatedUsd: '0.000000000002' });
  });

  it('keeps history in Redis: another process estimates from what this one booked', async () => {
    const keyPrefix = `p${(prefixes += 1)}:`;
    const writer = redisGuard({ limits: { global: { daily: { usd: 10 } } }, now: () => T0 }, keyPrefix);
    for (const usd of [0.1, 0.2, 0.4]) {
      await writer.settle(await writer.reserve({ agentName: 'research', step: 'plan', estimatedUsd: 1 }), usd, 10);
    }
    const ttl = await new Redis(server.url).pipeline().pttl(`${keyPrefix}history:research/plan`).quit().exec();
    expect(Number(ttl?.[0]?.[1])).toBeGreaterThan(29 * 86_400_000); // bounded in time too
    const reader = redisGuard({ limits: { global: { daily: { usd: 10 } } }, now: () => T0 }, keyPrefix);
    expect(await reader.reserve({ agentName: 'research', step: 'plan' })).toMatchObject({
      estimateSource: 'history',
      estimatedPico: usdToPico(0.4),
    });
  });

  it('reset() clears counters, overrides, claims and history under the prefix only', async () => {
    // A glob character in the prefix is matched literally: `p7*:` must not reset `p7a:`.
    const keyPrefix = `p${(prefixes += 1)}`;
    const guard = redisGuard({ limits: { global: { daily: { usd: 1 } } }, now: () => T0 }, `${keyPrefix}*:`);
    const neighbour = redisGuard({ limits: { global: { daily: { usd: 1 } } }, now: () => T0 }, `${keyPrefix}a:`);
    await guard.setLimit({ userId: 'alice' }, { daily: { usd: 0.5 } });
    await guard.settle(await guard.reserve({ agentName: 'bot', estimatedUsd: 0.4 }), 0.4);
    await neighbour.settle(await neighbour.reserve({ estimatedUsd: 0.4 }), 0.4);
    await guard.reset();
    expect(await guard.listLimits()).toEqual([]);
    expect((await guard.spend({}, 'daily'))[0]?.spent).toBe(0);
    expect((await neighbour.spend({}, 'daily'))[0]?.spent).toBe(0.4);
  });
});
