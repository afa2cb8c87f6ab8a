import { Redis } from 'ioredis';
import { usdToPico } from '@costspan/core';
import { describe, expect, it } from 'vitest';
import { captureNotices } from './__fixtures__/guard-fixtures.js';
import { assertRedisServerOnPath, startRedisServer, type RedisServerHandle } from './__fixtures__/redis-server.js';
import { slowEveryRoundTrip } from './__fixtures__/slow-redis.js';
import { BudgetGuard } from './budget-guard.js';
import type { BudgetAlert, BudgetGuardOptions } from './budget-guard-types.js';
import type { BudgetStoreCommitRequest, BudgetStoreCrossing } from './budget-store.js';
import { RedisBudgetStore } from './redis-budget-store.js';

// Without redis-server this file fails here, at once, with the install command: no test is reported as skipped.
assertRedisServerOnPath();

const TIMEOUT_MS = 400;
const DAY_LIMIT = { user: { daily: { usd: 1 } } };
const alice = { userId: 'alice' };
const notices = captureNotices();

/** A store that runs `afterCommit` once a commit has answered: a Redis that hangs right after booking. */
class HangAfterCommitStore extends RedisBudgetStore {
  afterCommit: (() => void) | undefined;

  override async commit(request: BudgetStoreCommitRequest): Promise<BudgetStoreCrossing[]> {
    const crossings = await super.commit(request);
    this.afterCommit?.();
    return crossings;
  }
}

/** A fail-open guard on its own redis-server, which `run` pauses (SIGSTOP) for `during` and resumes after. */
async function withHungRedis(
  test: (setup: {
    guard: BudgetGuard;
    store: HangAfterCommitStore;
    errors: unknown[];
    server: RedisServerHandle;
    hang: () => void;
    resume: () => void;
  }) => Promise<void>,
  options: Partial<BudgetGuardOptions> = {},
): Promise<void> {
  const server = await startRedisServer();
  const store = new HangAfterCommitStore({ url: server.url, keyPrefix: 'dl:', timeoutMs: TIMEOUT_MS, onError: () => undefined });
  const errors: unknown[] = [];
  // A user limit: every call first reads the user's limit overrides (HMGET), then runs the script.
  const guard = new BudgetGuard({
    store,
    limits: DAY_LIMIT,
    failOpen: true,
    circuitBreaker: false,
    onError: (error) => errors.push(error),
    ...options,
  });
  try {
    await guard.getBudget(alice); // connected, the script loaded
    await test({ guard, store, errors, server, hang: () => server.signal('SIGSTOP'), resume: () => server.signal('SIGCONT') });
  } finally {
    server.signal('SIGCONT');
    await store.close();
    await server.stop();
  }
}

async function elapsedOf(work: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  const error = await work().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { ms: Date.now() - started, error };
}

/** The user's daily counter as Redis holds it, polled until its reservations are gone (at most ~3 s). */
async function heldOnceAnswered(server: RedisServerHandle, store: RedisBudgetStore): Promise<Record<string, unknown>> {
  const reader = new Redis(server.url);
  try {
    const counter = (await reader.keys('dl:user_daily:alice:*')).find((key) => !key.endsWith(':reservations'))!;
    let held: Record<string, unknown> = {};
    for (let attempt = 0; attempt < 60; attempt += 1) {
      held = {
        rp: await reader.hget(counter, 'rp'),
        live: await reader.zcard(`${counter}:reservations`),
        queued: store.orphanedReservations,
      };
      if (held.live === 0 && held.queued === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return held;
  } finally {
    reader.disconnect();
  }
}

describe('RedisBudgetStore hung: a guard call fails within one timeoutMs, its overrides read included', () => {
  it('settle: rejects within one timeoutMs, and the reservation is given back (once) when Redis answers again', async () => {
    await withHungRedis(async ({ guard, store, errors, server, hang, resume }) => {
      const reservation = await guard.reserve({ principal: alice, estimatedUsd: 0.5 });
      hang();
      const { ms, error } = await elapsedOf(() => guard.settle(reservation, 0.2));
      expect(error).toMatchObject({ code: 'budget_unavailable' });
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(1.5 * TIMEOUT_MS); // overrides read (failOpen: none) and commit share one timeout
      expect(errors).toEqual([expect.objectContaining({ code: 'budget_unavailable' })]); // the overrides read, told
      expect(store.orphanedReservations).toBe(1); // the release waits for Redis
      resume();
      // Given back exactly once: nothing held, and the reserved amount is back to zero, not below it.
      expect(await heldOnceAnswered(server, store)).toEqual({ rp: '0', live: 0, queued: 0 });
      // The commit was sent though the call's time was used up: Redis ran it once it answered, so the spend is booked.
      expect((await guard.getBudget(alice)).limits[0]?.exact).toMatchObject({ reserved: 0n, spent: usdToPico(0.2) });
    });
  }, 15_000);

  it('record: its background settle ends within one timeoutMs, and the reservation is given back when Redis answers again', async () => {
    await withHungRedis(async ({ guard, store, server, hang, resume }) => {
      const reservation = await guard.reserve({ principal: alice, estimatedUsd: 0.5 });
      hang();
      const spend = {
        principal: alice,
        runId: 'r',
        rootRunId: 'r',
        agentName: 'a',
        usd: usdToPico(0.2),
        tokens: 1,
        timestamp: 0,
        reservation,
      };
      const { ms } = await elapsedOf(async () => {
        guard.record(spend);
        await guard.flush();
      });
      expect(ms).toBeLessThan(1.5 * TIMEOUT_MS);
      expect(store.orphanedReservations).toBe(1);
      resume();
      expect(await heldOnceAnswered(server, store)).toEqual({ rp: '0', live: 0, queued: 0 });
      expect((await guard.getBudget(alice)).limits[0]?.exact).toMatchObject({ reserved: 0n, spent: usdToPico(0.2) });
    });
  }, 15_000);

  it('check: rejects within one timeoutMs', async () => {
    await withHungRedis(async ({ guard, hang }) => {
      hang();
      const { ms, error } = await elapsedOf(() => guard.check(alice, { estimatedUsd: 0.1 }));
      expect(error).toMatchObject({ code: 'budget_unavailable' });
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(1.5 * TIMEOUT_MS);
    });
  }, 15_000);

  it('getBudget: rejects within one timeoutMs', async () => {
    await withHungRedis(async ({ guard, hang }) => {
      hang();
      const { ms, error } = await elapsedOf(() => guard.getBudget(alice));
      expect(error).toMatchObject({ code: 'budget_unavailable' });
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(1.5 * TIMEOUT_MS);
    });
  }, 15_000);

  it('settle: when Redis hangs right after its commit answers, the history sample and alert claims share its timeoutMs; the spend is booked', async () => {
    const alerts: BudgetAlert[] = [];
    await withHungRedis(
      async ({ guard, store, errors, hang, resume }) => {
        const reservation = await guard.reserve({ principal: alice, estimatedUsd: 0.5, agentName: 'planner' });
        store.afterCommit = hang;
        const { ms, error } = await elapsedOf(() => guard.settle(reservation, 0.9));
        store.afterCommit = undefined;
        expect(error).toBeUndefined(); // best effort after the booking: the settle resolves
        expect(ms).toBeLessThan(1.5 * TIMEOUT_MS); // commit, sample and both claims share one timeout (was ~3x)
        // The lost sample and the two unconfirmed alert claims are reported, each once; both alerts fire anyway.
        const unavailable = expect.objectContaining({ code: 'budget_unavailable' });
        expect(errors).toEqual([unavailable, unavailable, unavailable]);
        expect(alerts.map((alert) => alert.threshold)).toEqual([0.5, 0.8]);
        resume();
        expect((await guard.getBudget(alice)).limits[0]?.exact).toMatchObject({ reserved: 0n, spent: usdToPico(0.9) });
      },
      {
        limits: { user: { daily: { usd: 1, alertAt: [{ fraction: 0.5 }, { fraction: 0.8 }] } } },
        history: {},
        onAlert: (alert) => alerts.push(alert),
      },
    );
  }, 15_000);
});

describe('RedisBudgetStore: an alert whose claim timed out is not lost', () => {
  it('fires, and is told once, though Redis runs the timed-out SET NX later (no process could claim it then)', async () => {
    const alerts: BudgetAlert[] = [];
    await withHungRedis(
      async ({ guard, store, server, hang, resume }) => {
        const reservation = await guard.reserve({ principal: alice, estimatedUsd: 0.5 });
        store.afterCommit = hang;
        await guard.settle(reservation, 0.6);
        store.afterCommit = undefined;
        expect(alerts.map((alert) => alert.threshold)).toEqual([0.5]); // delivered without the claim's answer
        expect(notices.filter((notice) => notice.cause === 'budget_store_failed:alert')).toEqual([
          expect.objectContaining({ message: expect.stringMatching(/fired without its once-only claim/) as unknown }),
        ]);
        resume();
        // The SET NX was sent before the timeout: Redis ran it once it answered, so the claim is taken and
        // every later claimer (another process, or a re-crossing after a reset) is told false.
        const claims = await claimsIn(server);
        expect(claims).toHaveLength(1);
        expect(await store.claimOnce(claims[0]!, 0)).toBe(false);
      },
      {
        limits: { user: { daily: { usd: 1, alertAt: [{ fraction: 0.5 }] } } },
        onError: undefined,
        onAlert: (alert) => alerts.push(alert),
      },
    );
  }, 15_000);
});

describe('RedisBudgetStore slow (each round trip answers within timeoutMs): admin calls share one timeoutMs', () => {
  const SLOW_MS = 0.75 * TIMEOUT_MS;

  it('reset(): its SCAN and UNLINK round trips share one timeoutMs, and it rejects as budget_unavailable', async () => {
    await withHungRedis(async ({ guard, store, server }) => {
      const writer = new Redis(server.url);
      try {
        // Several SCAN pages (COUNT 500), each followed by an UNLINK: a dozen round trips.
        const pipeline = writer.pipeline();
        for (let index = 0; index < 2500; index += 1) pipeline.set(`dl:junk:${index}`, '1');
        await pipeline.exec();
      } finally {
        writer.disconnect();
      }
      const restore = slowEveryRoundTrip(store.client, (signal) => server.signal(signal), SLOW_MS);
      const { ms, error } = await elapsedOf(() => guard.reset());
      restore();
      expect(error).toMatchObject({
        code: 'budget_unavailable',
        message: expect.stringContaining('did not answer within 400 ms') as unknown,
      });
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(TIMEOUT_MS + 150); // one timeout for the whole call (was one per round trip: ~4 s)
    });
  }, 20_000);

  it('reset(target): the overrides read and the UNLINK share one timeoutMs', async () => {
    await withHungRedis(async ({ guard, store, server }) => {
      const restore = slowEveryRoundTrip(store.client, (signal) => server.signal(signal), SLOW_MS);
      const { ms, error } = await elapsedOf(() => guard.reset(alice));
      restore();
      expect(error).toMatchObject({ code: 'budget_unavailable' });
      expect(ms).toBeLessThan(TIMEOUT_MS + 150); // was two timeouts' worth (~600 ms, resolved)
    });
  }, 15_000);

  it('setLimit and close against a hung Redis end within one timeoutMs (setLimit rejects, typed)', async () => {
    await withHungRedis(async ({ guard, store, hang }) => {
      hang();
      const set = await elapsedOf(() => guard.setLimit(alice, { daily: { usd: 2 } }));
      expect(set.error).toMatchObject({ code: 'budget_unavailable' });
      expect(set.ms).toBeLessThan(TIMEOUT_MS + 150);
      const closed = await elapsedOf(() => store.close());
      expect(closed.error).toBeUndefined();
      expect(closed.ms).toBeLessThan(TIMEOUT_MS + 150);
    });
  }, 15_000);
});

/** The alert claims Redis holds, as `claimOnce` names them (without the store's `dl:claim:`). */
async function claimsIn(server: RedisServerHandle): Promise<string[]> {
  const reader = new Redis(server.url);
  try {
    return (await reader.keys('dl:claim:*')).map((key) => key.slice('dl:claim:'.length));
  } finally {
    reader.disconnect();
  }
}
