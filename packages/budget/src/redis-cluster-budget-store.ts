import type { Cluster, ClusterNode } from 'ioredis';
import { CostspanError, integerOption, invalidInput, millisecondsOption } from '@costspan/core';
import type {
  BudgetStore,
  BudgetStoreCommitRequest,
  BudgetStoreCrossing,
  BudgetStoreLimit,
  BudgetStoreReading,
  BudgetStoreCallOptions,
  BudgetStoreReadOptions,
  BudgetStoreRefusal,
  BudgetStoreRelease,
  BudgetStoreReserveRequest,
  BudgetStoreSample,
} from './budget-store.js';
import { PendingReleases } from './pending-releases.js';
import { clusterPrefix, counterKeys, groupBySlotTag } from './redis-cluster-keys.js';
import { ClusterConnection } from './redis-cluster-connection.js';
import { reportBudgetError } from './report-error.js';
import { commitArgs, crossingsOf, readingsOf, refusalOf, reserveArgs } from './redis-script-protocol.js';
import { deadlineOf, decodeSamples, encodeSample, escapeGlob, HISTORY_TTL_MS } from './redis-store-shared.js';

/** Options of {@link RedisClusterBudgetStore}. */
export interface RedisClusterBudgetStoreOptions {
  /**
   * Your own ioredis `Cluster` client; the store never closes it. Create it with
   * `retryDelayOnFailover: 0` (else ioredis re-sends a script whose connection
   * closed, and a spend that ran may be booked twice) and
   * `redisOptions: { maxRetriesPerRequest: 0 }`; every operation is bounded by
   * `timeoutMs` whatever the client queues.
   */
  client?: Cluster;
  /**
   * Startup nodes when no `client` is given (`{ host, port }` or `host:port`).
   * Default: `COSTSPAN_BUDGET_REDIS_CLUSTER_NODES` (comma-separated `host:port`).
   */
  nodes?: readonly (ClusterNode | string)[];
  /** Prefix of every key, without `{` or `}` (the store tags keys by scope). Default `costspan:budget:`. */
  keyPrefix?: string;
  /**
   * Upper bound of each operation (ms), waiting for the cluster and for replicas included. Default 1000.
   * A reserve, settle, check or getBudget counts it from the start of the guard's call (its limit
   * overrides read included), a refused reserve's give-back on its other scopes too: the call
   * fails, and `failOpen` applies, within one timeout. An operation of several round trips
   * (`reset()`: SCAN on every master, then UNLINK) gets one timeout in all, as does the guard's
   * `reset(target)` with its overrides read; `close` waits at most this long.
   */
  timeoutMs?: number;
  /** Connect timeout of the client the store creates (ms). Default 1000. */
  connectTimeoutMs?: number;
  /**
   * Replicas that must acknowledge a booked spend (`WAIT`) before `commit`
   * resolves. Default 1: a settle that resolved survives the failover of its
   * master. `0` skips the wait (faster; a settle acknowledged in the last
   * moments before its master dies may be lost). A spend not acknowledged in
   * time rejects the commit (the spend is booked on the master, not yet durable).
   */
  waitForReplicas?: number;
  /** Receives connection errors of the client the store creates (once per outage). Default: OpenTelemetry `diag`. */
  onError?: (error: unknown) => void;
}

/**
 * A {@link BudgetStore} in Redis Cluster that spreads tenants over the
 * masters and stays exact. Every key is hash-tagged by its **scope**
 * (`{user:alice}`, `{team:search}`, `{global}`), so one principal's counters
 * share a slot while different principals land on different masters.
 *
 * - `reserve`: one atomic script per scope, all in parallel (reserve); when any
 *   scope refuses, the reservations made on the others are given back
 *   (compensation) before the refusal is returned. Each counter is checked and
 *   reserved atomically on its own master, so **no limit is ever passed**; a
 *   call refused by one scope holds its estimate on the others for one round
 *   trip, so a concurrent call near those limits may be refused too (never admitted past one).
 * - `commit` (settle, release, record): one script per scope in parallel, each
 *   followed by `WAIT <waitForReplicas> <ms left>` on the same connection.
 *   Atomic per scope, not across scopes: if a master fails mid-commit the
 *   commit rejects and the spend may be booked on some scopes only.
 * - `read`: per scope, in parallel; consistent per scope.
 * - Global limits live under their own tag: every call carries them, so their
 *   master sees every call (configure fewer global limits to spread the load).
 *
 * @example
 * ```ts
 * const store = new RedisClusterBudgetStore({ nodes: ['10.0.0.1:7000', '10.0.0.2:7000'] });
 * const guard = new BudgetGuard({ store, limits: { user: { daily: { usd: 5 } } } });
 * ```
 */
export class RedisClusterBudgetStore implements BudgetStore {
  /** The ioredis Cluster client in use. */
  readonly client: Cluster;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly replicas: number;
  private readonly connection: ClusterConnection;
  private readonly pending = new PendingReleases((release, now) => this.commit({ release, now }).then(() => undefined));

  constructor(options: RedisClusterBudgetStoreOptions = {}) {
    this.prefix = clusterPrefix(options.keyPrefix ?? 'costspan:budget:');
    this.timeoutMs = millisecondsOption(options.timeoutMs, 'timeoutMs', { fallback: 1000 });
    // 0 skips the wait.
    this.replicas = integerOption(options.waitForReplicas, 'waitForReplicas', { fallback: 1, min: 0 });
    const connectTimeout = millisecondsOption(options.connectTimeoutMs, 'connectTimeoutMs', { fallback: 1000 });
    const onError = options.onError ?? ((error: unknown) => reportBudgetError(error, 'redis cluster connection'));
    this.connection = new ClusterConnection({
      ...(options.client === undefined ? { nodes: startupNodes(options.nodes) } : { client: options.client }),
      timeoutMs: this.timeoutMs,
      connectTimeoutMs: connectTimeout,
      replicas: this.replicas,
      onError,
    });
    this.client = this.connection.client;
  }

  /** Reserves per scope in parallel; on a refusal, gives the others back and resolves the first refusing counter. */
  async reserve(request: BudgetStoreReserveRequest): Promise<BudgetStoreRefusal | undefined> {
    // The call's earlier round trips used its time: fail now rather than send scripts nobody waits for.
    const deadline = this.callDeadline(request.startedAt);
    const groups = groupBySlotTag(request.counters.map((counter) => counter.key));
    const outcomes = await Promise.all(
      groups.map(async (group) => {
        const counters = group.indexes.map((index) => request.counters[index]!);
        const args = reserveArgs(request, counters);
        const sent = { value: false };
        try {
          const reply = await this.connection.script(this.keysOf(counters.map((counter) => counter.key)), args, {
            deadline,
            replicas: 0,
            sent,
          });
          return { group, refusal: refusalOf(reply, group.indexes) };
        } catch (error) {
          return { group, error, sent: sent.value };
        }
      }),
    );
    const refusals = outcomes.flatMap((outcome) => ('refusal' in outcome && outcome.refusal !== undefined ? [outcome.refusal] : []));
    const failure = outcomes.find((outcome) => 'error' in outcome);
    if (refusals.length === 0 && failure === undefined) return undefined;
    await this.compensate(request, outcomes, deadline);
    refusals.sort((left, right) => left.index - right.index);
    if (refusals[0] !== undefined) return refusals[0];
    throw (failure as { error: unknown }).error;
  }

  /** Gives back what a refused or failed reserve holds: at once where it was made, later where its outcome is unknown. */
  private async compensate(
    request: BudgetStoreReserveRequest,
    outcomes: readonly (
      | { group: { indexes: number[] }; refusal: BudgetStoreRefusal | undefined }
      | { group: { indexes: number[] }; error: unknown; sent: boolean }
    )[],
    deadline: number,
  ): Promise<void> {
    const keysOf = (indexes: number[]): string[] => indexes.map((index) => request.counters[index]!.key);
    const held = outcomes
      .filter((outcome) => 'refusal' in outcome && outcome.refusal === undefined)
      .flatMap((outcome) => keysOf(outcome.group.indexes));
    const unknown = outcomes.filter((outcome) => 'sent' in outcome && outcome.sent).flatMap((outcome) => keysOf(outcome.group.indexes));
    const release = (keys: string[]): BudgetStoreRelease => ({ id: request.id, keys, pico: request.pico, tokens: request.tokens });
    // A reserve sent but not answered may still run once its master answers: give it back then.
    if (unknown.length > 0) this.pending.add(release(unknown), request.now, request.expiresAt);
    if (held.length === 0) return;
    // Within the reserve's deadline: a give-back that fails, times out or finds the time used up is
    // queued by commitBy (until the reservation lapses), so the refusal is not held up and nothing is lost.
    await this.commitBy({ release: release(held), now: request.now }, deadline, request.expiresAt).catch(() => undefined);
  }

  /** Releases and books per scope in parallel, each spend confirmed by `waitForReplicas` replicas; resolves the alert crossings. */
  async commit(request: BudgetStoreCommitRequest): Promise<BudgetStoreCrossing[]> {
    return await this.commitBy(request, deadlineOf(this.timeoutMs, request.startedAt), Number.POSITIVE_INFINITY);
  }

  /** {@link commit} by `deadline`; a release that may not have run is queued, kept until `releaseExpiresAt`. */
  private async commitBy(request: BudgetStoreCommitRequest, deadline: number, releaseExpiresAt: number): Promise<BudgetStoreCrossing[]> {
    const requeue = (): void => {
      if (request.release !== undefined) this.pending.add(request.release, request.now, releaseExpiresAt);
    };
    // Sent even when the call's earlier round trips used its time (each wait is then 1 ms): a spend that a
    // hung master runs once it answers is booked, where one never sent would be lost. Its release is
    // queued below as well; a release that already ran is a no-op.
    const releaseKeys = request.release?.keys ?? [];
    const spendCounters = request.spend?.counters ?? [];
    // One list for grouping: release keys first, then spend keys (positions r.. are spend indexes + r).
    const all = [...releaseKeys, ...spendCounters.map((counter) => counter.key)];
    if (all.length === 0) return [];
    const results = await Promise.allSettled(
      groupBySlotTag(all).map(async (group) => {
        const releasing = group.indexes.filter((index) => index < releaseKeys.length).map((index) => releaseKeys[index]!);
        const spending = group.indexes.filter((index) => index >= releaseKeys.length).map((index) => index - releaseKeys.length);
        const args = commitArgs({
          now: request.now,
          release: releasing.length === 0 ? undefined : request.release,
          releaseCount: releasing.length,
          spend: request.spend,
          spendCounters: spending.map((index) => spendCounters[index]!),
        });
        const keys = this.keysOf([...releasing, ...spending.map((index) => spendCounters[index]!.key)]);
        const replicas = spending.length > 0 ? this.replicas : 0;
        const reply = await this.connection.script(keys, args, { deadline, replicas, sent: { value: false } });
        return crossingsOf(reply, spending);
      }),
    );
    const failed = results.filter((result) => result.status === 'rejected');
    if (failed.length > 0) {
      // Give the reservation back once the masters answer (as on one node); a release that ran is a no-op.
      requeue();
      const first: unknown = failed[0]!.reason;
      if (failed.length === results.length || CostspanError.isInstance(first)) throw first;
      throw new Error(
        `the commit reached ${results.length - failed.length} of ${results.length} scopes' masters; the others failed: ${String((first as Error)?.message ?? first)}`,
        { cause: first },
      );
    }
    return results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
  }

  /** Reads counters per scope in parallel. */
  async read(keys: readonly string[], now: number, options: BudgetStoreReadOptions = {}): Promise<BudgetStoreReading[]> {
    if (keys.length === 0) return [];
    const deadline = this.callDeadline(options.startedAt);
    const readings: BudgetStoreReading[] = new Array<BudgetStoreReading>(keys.length);
    await Promise.all(
      groupBySlotTag(keys).map(async (group) => {
        const groupKeys = group.indexes.map((index) => keys[index]!);
        const reply = await this.connection.script(this.keysOf(groupKeys), ['read', String(now)], {
          deadline,
          replicas: 0,
          sent: { value: false },
        });
        const groupReadings = readingsOf(reply, groupKeys.length);
        group.indexes.forEach((index, at) => {
          readings[index] = groupReadings[at]!;
        });
      }),
    );
    return readings;
  }

  /**
   * Sets the override of `scope`. Each scope's override is its own key, tagged
   * by the scope (`{user:alice}limit`): the guard reads the overrides of a
   * call's scopes on every reserve, and one shared hash would put that read of
   * every call on one master.
   */
  async setLimit(scope: string, limits: string): Promise<void> {
    await this.connection.command('HSET', this.deadline(), (client) => client.hset(this.limitKey(scope), 'scope', scope, 'limits', limits));
  }

  /** Removes the override of `scope`. */
  async removeLimit(scope: string): Promise<boolean> {
    return (await this.connection.command('DEL', this.deadline(), (client) => client.del(this.limitKey(scope)))) > 0;
  }

  /** The overrides of `scopes`, in order: one HGET per scope, in parallel, each on its scope's master. */
  async getLimits(scopes: readonly string[]): Promise<(string | undefined)[]> {
    const deadline = this.deadline();
    return await Promise.all(
      scopes.map(
        async (scope) =>
          (await this.connection.command('HGET', deadline, (client) => client.hget(this.limitKey(scope), 'limits'))) ?? undefined,
      ),
    );
  }

  /** Every override, sorted by scope (SCAN on every master). */
  async listLimits(): Promise<BudgetStoreLimit[]> {
    const deadline = this.deadline();
    const keys = await this.connection.scanKeys(`${escapeGlob(this.prefix)}{*}limit`, deadline);
    const entries = await Promise.all(
      keys.map((key) => this.connection.command('HMGET', deadline, (client) => client.hmget(key, 'scope', 'limits'))),
    );
    return entries
      .flatMap(([scope, limits]) => (typeof scope === 'string' && typeof limits === 'string' ? [{ scope, limits }] : []))
      .sort((left, right) => (left.scope < right.scope ? -1 : left.scope > right.scope ? 1 : 0));
  }

  /**
   * Deletes `keys`' counters (per scope), or every key under the prefix on every master (SCAN + UNLINK).
   * All its round trips share one `timeoutMs`, counted from `startedAt` when given (the guard's
   * `reset(target)` reads the target's overrides first); a reset cut short by it rejects having deleted some keys.
   */
  async reset(keys?: readonly string[], options: BudgetStoreCallOptions = {}): Promise<void> {
    if (keys?.length === 0) return;
    const deadline = this.callDeadline(options.startedAt, keys === undefined ? 'SCAN' : 'UNLINK');
    if (keys !== undefined) {
      await Promise.all(
        groupBySlotTag(keys).map((group) =>
          this.connection.command('UNLINK', deadline, (client) =>
            client.unlink(...this.keysOf(group.indexes.map((index) => keys[index]!))),
          ),
        ),
      );
      return;
    }
    await this.connection.scanDelete(`${escapeGlob(this.prefix)}*`, deadline);
  }

  /** `SET key 1 NX [PX ttl]` on the key's master: true for the first caller across every process. `startedAt`: as in {@link read}. */
  async claimOnce(key: string, ttlMs: number, options: BudgetStoreCallOptions = {}): Promise<boolean> {
    const full = `${this.prefix}claim:${key}`;
    const reply = await this.connection.command('SET NX', this.callDeadline(options.startedAt, 'SET NX'), (client) =>
      ttlMs > 0 ? client.set(full, '1', 'PX', Math.ceil(ttlMs), 'NX') : client.set(full, '1', 'NX'),
    );
    return reply === 'OK';
  }

  /** LPUSH + LTRIM in one MULTI (one key, one slot): the newest `keep` samples. `startedAt`: as in {@link read}. */
  async addSample(key: string, sample: BudgetStoreSample, keep: number, options: BudgetStoreCallOptions = {}): Promise<void> {
    const full = `${this.prefix}history:${key}`;
    const value = encodeSample(sample);
    await this.connection.command('MULTI', this.callDeadline(options.startedAt, 'MULTI'), (client) =>
      client
        .multi()
        .lpush(full, value)
        .ltrim(full, 0, keep - 1)
        // As on one node: a history nobody writes to for 30 days goes (its samples would weigh nothing by then).
        .pexpire(full, HISTORY_TTL_MS)
        .exec(),
    );
  }

  /** The samples of `key`, newest first. */
  async readSamples(key: string): Promise<BudgetStoreSample[]> {
    const values = await this.connection.command('LRANGE', this.deadline(), (client) =>
      client.lrange(`${this.prefix}history:${key}`, 0, -1),
    );
    return decodeSamples(values);
  }

  /** Reservations of failed reserves and compensations not yet given back (they lapse by themselves at their expiry). */
  get orphanedReservations(): number {
    return this.pending.size;
  }

  /** Closes the client the store created (a client you passed stays open). Idempotent. */
  async close(): Promise<void> {
    this.pending.stop();
    await this.connection.close(this.timeoutMs);
  }

  private limitKey(scope: string): string {
    return `${this.prefix}{${scope.replace(/[{}]/g, encodeURIComponent)}}limit`;
  }

  private deadline(): number {
    return deadlineOf(this.timeoutMs);
  }

  /** The deadline of a guard call that began at `startedAt`; throws, sending nothing, when its time is used up. */
  private callDeadline(startedAt: number | undefined, what = 'EVALSHA'): number {
    const deadline = deadlineOf(this.timeoutMs, startedAt);
    if (deadline - Date.now() <= 0) throw this.timeUsedUp(what);
    return deadline;
  }

  private timeUsedUp(what = 'EVALSHA'): Error {
    return new Error(
      `redis cluster did not answer within ${Math.round(this.timeoutMs)} ms (${what} not sent: the call used its time before)`,
    );
  }

  private keysOf(keys: readonly string[]): string[] {
    return keys.flatMap((key) => counterKeys(this.prefix, key));
  }
}

function startupNodes(nodes: readonly (ClusterNode | string)[] | undefined): ClusterNode[] {
  const list: readonly (ClusterNode | string)[] =
    nodes ?? (process.env.COSTSPAN_BUDGET_REDIS_CLUSTER_NODES ?? '127.0.0.1:7000').split(',').map((node) => node.trim());
  if (typeof list !== 'object' || list === null || list.length === 0) {
    throw invalidInput('invalid_argument', 'nodes', nodes, 'a list of host:port startup nodes');
  }
  return list.map((node) => node);
}
