import { Redis } from 'ioredis';
import { CostspanError, millisecondsOption } from '@costspan/core';
import type {
  BudgetStore,
  BudgetStoreCommitRequest,
  BudgetStoreCrossing,
  BudgetStoreLimit,
  BudgetStoreReading,
  BudgetStoreCallOptions,
  BudgetStoreReadOptions,
  BudgetStoreRefusal,
  BudgetStoreReserveRequest,
  BudgetStoreSample,
} from './budget-store.js';
import { PendingReleases } from './pending-releases.js';
import { reportBudgetError } from './report-error.js';
import { REDIS_BUDGET_SCRIPT, REDIS_BUDGET_SCRIPT_SHA } from './redis-budget-script.js';
import { commitArgs, crossingsOf, readingsOf, refusalOf, reserveArgs } from './redis-script-protocol.js';
import { bounded, deadlineOf, decodeSamples, encodeSample, escapeGlob, HISTORY_TTL_MS } from './redis-store-shared.js';

/** Options of {@link RedisBudgetStore}. */
export interface RedisBudgetStoreOptions {
  /**
   * Your own ioredis client; the store never closes it. Create it with
   * `enableOfflineQueue: false`, `maxRetriesPerRequest: 0` and a `commandTimeout`
   * so that a down Redis fails fast (the store bounds every operation by
   * `timeoutMs` anyway).
   */
  client?: Redis;
  /**
   * URL of a Redis to connect to when no `client` is given. Default: the
   * `COSTSPAN_BUDGET_REDIS_URL` environment variable, else `redis://127.0.0.1:6379`.
   */
  url?: string;
  /**
   * Prefix of every key. Default `costspan:budget:`. On Redis Cluster use a hash
   * tag, e.g. `{costspan}:budget:`, so all counters of a call share a slot.
   */
  keyPrefix?: string;
  /**
   * Upper bound of each operation (ms), waiting for a first connection included. Default 1000.
   * A reserve, settle, check or getBudget counts it from the start of the guard's call (its limit
   * overrides read included): the call fails, and `failOpen` applies, within one timeout. An
   * operation of several round trips (`reset()`: SCAN and UNLINK pages) gets one timeout in all, as
   * does the guard's `reset(target)` with its overrides read; `close` waits at most this long.
   */
  timeoutMs?: number;
  /** Connect timeout of the client the store creates (ms). Default 1000. */
  connectTimeoutMs?: number;
  /**
   * Receives connection errors of the client the store creates (once per
   * outage). Default: the OpenTelemetry `diag` logger.
   */
  onError?: (error: unknown) => void;
}

/**
 * A {@link BudgetStore} in Redis, shared by every worker and machine that uses
 * the same Redis and key prefix. Each operation is one atomic Lua script
 * (EVALSHA, falling back to EVAL after a `NOSCRIPT`) over all counters of a
 * call; money is stored as integer pico-USD strings; counters expire one window
 * plus slack after their last write; reservations lapse inside the script.
 *
 * Every operation is bounded by `timeoutMs`: a down or hung Redis rejects, and
 * the guard then applies its `failOpen` policy.
 *
 * @example
 * ```ts
 * const store = new RedisBudgetStore({ url: 'redis://127.0.0.1:6379' });
 * const guard = new BudgetGuard({ store, limits: { user: { daily: { usd: 5 } } } });
 * ```
 */
export class RedisBudgetStore implements BudgetStore {
  /** The ioredis client in use. */
  readonly client: Redis;
  private readonly ownsClient: boolean;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private closed = false;
  private readyWait: Promise<void> | undefined;
  /** Reservations whose reserve timed out or whose release failed, to release once Redis answers again. */
  private readonly orphans = new PendingReleases((release, now) => this.commit({ release, now }).then(() => undefined));

  constructor(options: RedisBudgetStoreOptions = {}) {
    this.prefix = options.keyPrefix ?? 'costspan:budget:';
    this.timeoutMs = millisecondsOption(options.timeoutMs, 'timeoutMs', { fallback: 1000 });
    const connectTimeout = millisecondsOption(options.connectTimeoutMs, 'connectTimeoutMs', { fallback: 1000 });
    if (options.client !== undefined) {
      this.client = options.client;
      this.ownsClient = false;
      return;
    }
    const url = options.url ?? process.env.COSTSPAN_BUDGET_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const onError = options.onError ?? ((error: unknown) => reportBudgetError(error, 'redis connection'));
    this.client = new Redis(url, {
      enableOfflineQueue: false,
      // A retried script could book a spend twice; fail instead and let the policy decide.
      maxRetriesPerRequest: 0,
      commandTimeout: this.timeoutMs,
      connectTimeout,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000),
    });
    this.ownsClient = true;
    let reported = false;
    this.client.on('ready', () => {
      reported = false;
    });
    this.client.on('error', (error: unknown) => {
      if (reported || this.closed) return;
      reported = true;
      onError(error);
    });
  }

  /** Atomic check-and-reserve across all counters (one script run). */
  async reserve(request: BudgetStoreReserveRequest): Promise<BudgetStoreRefusal | undefined> {
    const keys = request.counters.map((counter) => counter.key);
    let sent = false;
    let reply: unknown;
    try {
      reply = await this.run(this.keysOf(keys), reserveArgs(request, request.counters), {
        onSent: () => {
          sent = true;
        },
        startedAt: request.startedAt,
      });
    } catch (error) {
      // A script sent but not answered in time may still run once Redis answers: give its
      // reservation back then, rather than let it hold the estimate for the reservation TTL.
      if (sent) this.orphans.add({ id: request.id, keys, pico: request.pico, tokens: request.tokens }, request.now, request.expiresAt);
      throw error;
    }
    return refusalOf(reply);
  }

  /** Releases and/or books, atomically; returns the alert thresholds crossed. */
  async commit(request: BudgetStoreCommitRequest): Promise<BudgetStoreCrossing[]> {
    const release = request.release;
    const spend = request.spend;
    const keys = [...(release?.keys ?? []), ...(spend?.counters.map((counter) => counter.key) ?? [])];
    if (keys.length === 0) return [];
    const args = commitArgs({
      now: request.now,
      release,
      releaseCount: release?.keys.length ?? 0,
      spend,
      spendCounters: spend?.counters ?? [],
    });
    try {
      // Sent even when the call's time is used up: a spend Redis runs once it answers again is booked,
      // where one never sent would be lost.
      return crossingsOf(await this.run(this.keysOf(keys), args, { startedAt: request.startedAt, sendWhenLate: true }));
    } catch (error) {
      // The reservation would otherwise stay held until it lapses (the guard counts it settled or released):
      // give it back once Redis answers, also when the call's time ran out before the script was sent.
      // A release that already ran is a no-op in the script.
      if (release !== undefined) this.orphans.add(release, request.now, Number.POSITIVE_INFINITY);
      throw error;
    }
  }

  /** Reads counters, lapsing expired reservations first. */
  async read(keys: readonly string[], now: number, options: BudgetStoreReadOptions = {}): Promise<BudgetStoreReading[]> {
    if (keys.length === 0) return [];
    return readingsOf(await this.run(this.keysOf(keys), ['read', String(now)], { startedAt: options.startedAt }), keys.length);
  }

  /** Sets (replaces) the override of `scope`: one field of the `limits` hash. */
  async setLimit(scope: string, limits: string): Promise<void> {
    await this.command('HSET', () => this.client.hset(this.limitsKey, scope, limits));
  }

  /** Removes the override of `scope`. */
  async removeLimit(scope: string): Promise<boolean> {
    return (await this.command('HDEL', () => this.client.hdel(this.limitsKey, scope))) > 0;
  }

  /** The overrides of `scopes`, in order: one HMGET. */
  async getLimits(scopes: readonly string[]): Promise<(string | undefined)[]> {
    if (scopes.length === 0) return [];
    const values = await this.command('HMGET', () => this.client.hmget(this.limitsKey, ...scopes));
    return values.map((value) => value ?? undefined);
  }

  /** Every override, sorted by scope. */
  async listLimits(): Promise<BudgetStoreLimit[]> {
    const all = await this.command('HGETALL', () => this.client.hgetall(this.limitsKey));
    return Object.keys(all)
      .sort()
      .map((scope) => ({ scope, limits: all[scope]! }));
  }

  /**
   * Deletes `keys`' counters (hash and reservations), or every key under the prefix (SCAN + UNLINK).
   * All its round trips share one `timeoutMs`, counted from `startedAt` when given; a reset cut short
   * by it rejects having deleted some keys (a reset is not atomic; running it again finishes it).
   */
  async reset(keys?: readonly string[], options: BudgetStoreCallOptions = {}): Promise<void> {
    const deadline = deadlineOf(this.timeoutMs, options.startedAt);
    if (keys !== undefined) {
      if (keys.length > 0) await this.command('UNLINK', () => this.client.unlink(...this.keysOf(keys)), deadline);
      return;
    }
    const pattern = `${escapeGlob(this.prefix)}*`;
    let cursor = '0';
    do {
      const [next, found] = await this.command('SCAN', () => this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 500), deadline);
      if (found.length > 0) await this.command('UNLINK', () => this.client.unlink(...found), deadline);
      cursor = next;
    } while (cursor !== '0');
  }

  /** `SET key 1 NX [PX ttl]`: true for the first caller across every process. `startedAt`: as in {@link read}. */
  async claimOnce(key: string, ttlMs: number, options: BudgetStoreCallOptions = {}): Promise<boolean> {
    const full = `${this.prefix}claim:${key}`;
    const deadline = deadlineOf(this.timeoutMs, options.startedAt);
    const reply =
      ttlMs > 0
        ? await this.command('SET NX', () => this.client.set(full, '1', 'PX', Math.ceil(ttlMs), 'NX'), deadline)
        : await this.command('SET NX', () => this.client.set(full, '1', 'NX'), deadline);
    return reply === 'OK';
  }

  /** LPUSH + LTRIM in one MULTI: the newest `keep` samples. `startedAt`: as in {@link read}. */
  async addSample(key: string, sample: BudgetStoreSample, keep: number, options: BudgetStoreCallOptions = {}): Promise<void> {
    const full = `${this.prefix}history:${key}`;
    const value = encodeSample(sample);
    await this.command(
      'MULTI',
      () =>
        this.client
          .multi()
          .lpush(full, value)
          .ltrim(full, 0, keep - 1)
          // A history nobody writes to for 30 days goes (its samples would weigh nothing by then).
          .pexpire(full, HISTORY_TTL_MS)
          .exec(),
      deadlineOf(this.timeoutMs, options.startedAt),
    );
  }

  /** The samples of `key`, newest first. */
  async readSamples(key: string): Promise<BudgetStoreSample[]> {
    const values = await this.command('LRANGE', () => this.client.lrange(`${this.prefix}history:${key}`, 0, -1));
    return decodeSamples(values);
  }

  /** Reservations of timed-out reserves not yet given back (they lapse by themselves at their expiry). */
  get orphanedReservations(): number {
    return this.orphans.size;
  }

  /** Closes the client the store created (a client you passed stays open). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.orphans.stop();
    if (!this.ownsClient) return;
    try {
      await bounded(this.client.quit(), Date.now() + this.timeoutMs, () => this.noAnswer(this.timeoutMs, 'QUIT'));
    } catch {
      this.client.disconnect();
    }
  }

  private get limitsKey(): string {
    return `${this.prefix}limits`;
  }

  /**
   * One plain command, bounded by `deadline` (default: `timeoutMs` from now) like the scripts: a call
   * of several round trips passes the one deadline of the call, counted from its start.
   */
  private async command<T>(what: string, send: () => Promise<T>, deadline: number = deadlineOf(this.timeoutMs)): Promise<T> {
    if (this.closed) throw new CostspanError({ code: 'shutdown', message: 'RedisBudgetStore is closed' });
    await this.ready(deadline);
    // The call's earlier round trips used its time: fail now rather than send a command nobody waits for.
    if (deadline - Date.now() <= 0) throw this.noAnswer(this.timeoutMs, `${what} not sent: the call used its time before`);
    return await this.answered(send(), deadline, what);
  }

  private keysOf(keys: readonly string[]): string[] {
    const redisKeys: string[] = [];
    for (const key of keys) redisKeys.push(`${this.prefix}${key}`, `${this.prefix}${key}:reservations`);
    return redisKeys;
  }

  /** Runs the script; `startedAt` counts the timeout from the start of the guard's call. */
  private async run(
    keys: string[],
    args: string[],
    { onSent, startedAt, sendWhenLate = false }: { onSent?: () => void; startedAt?: number | undefined; sendWhenLate?: boolean } = {},
  ): Promise<unknown> {
    if (this.closed) throw new CostspanError({ code: 'shutdown', message: 'RedisBudgetStore is closed' });
    const deadline = deadlineOf(this.timeoutMs, startedAt);
    await this.ready(deadline);
    // The call's earlier round trips used its time: fail now rather than send a script nobody waits for.
    if (!sendWhenLate && deadline - Date.now() <= 0) throw this.noAnswer(this.timeoutMs, 'EVALSHA not sent: the call used its time before');
    try {
      onSent?.();
      return await this.answered(this.client.evalsha(REDIS_BUDGET_SCRIPT_SHA, keys.length, ...keys, ...args), deadline, 'EVALSHA');
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await this.answered(this.client.eval(REDIS_BUDGET_SCRIPT, keys.length, ...keys, ...args), deadline, 'EVAL');
    }
  }

  /** `promise`, bounded by `deadline` (at least 1 ms); a timeout (ours or the client's) names the server, never credentials. */
  private async answered<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
    try {
      return await bounded(promise, deadline, () => this.noAnswer(this.timeoutMs, what));
    } catch (error) {
      // ioredis's own commandTimeout says only "Command timed out".
      if (error instanceof Error && error.message === 'Command timed out') throw this.noAnswer(this.timeoutMs, what);
      throw error;
    }
  }

  private noAnswer(timeoutMs: number, what: string): Error {
    return new Error(`redis ${addressOf(this.client)} did not answer within ${Math.round(timeoutMs)} ms (${what})`);
  }

  /** Waits for a first connection; an interrupted one fails at once rather than adding latency. */
  private async ready(deadline: number): Promise<void> {
    const client = this.client;
    if (client.status === 'ready') return;
    if (client.status === 'wait') client.connect().catch(() => undefined);
    else if (client.status !== 'connecting' && client.status !== 'connect') {
      throw new Error(`redis ${addressOf(client)} is not connected (status ${client.status})`);
    }
    await bounded(this.waitReady(), deadline, () => this.noAnswer(this.timeoutMs, 'connect'));
  }

  /** One shared wait per connection attempt, however many operations queue behind it. */
  private waitReady(): Promise<void> {
    if (this.readyWait === undefined) {
      const client = this.client;
      const wait = new Promise<void>((resolve, reject) => {
        const cleanup = (): void => {
          client.off('ready', onReady);
          client.off('end', onEnd);
          this.readyWait = undefined;
        };
        const onReady = (): void => {
          cleanup();
          resolve();
        };
        const onEnd = (): void => {
          cleanup();
          reject(new Error('Redis connection ended'));
        };
        client.once('ready', onReady);
        client.once('end', onEnd);
      });
      wait.catch(() => undefined);
      this.readyWait = wait;
    }
    return this.readyWait;
  }
}

/** `host:port` (or the socket path) of a client: what an error may name. Credentials are never part of it. */
function addressOf(client: Redis): string {
  const { path, host, port } = client.options;
  if (typeof path === 'string' && path !== '') return path;
  const name = host ?? 'localhost';
  return `${name.includes(':') ? `[${name}]` : name}:${port ?? 6379}`;
}
