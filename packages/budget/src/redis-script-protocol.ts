import type {
  BudgetStoreCommitRequest,
  BudgetStoreCounter,
  BudgetStoreCrossing,
  BudgetStoreReading,
  BudgetStoreRefusal,
  BudgetStoreRelease,
  BudgetStoreReserveRequest,
} from './budget-store.js';

// The budget script's calls, written and read in this one place for both Redis stores (the layout
// is documented beside the script in redis-budget-script.ts). RedisBudgetStore sends all of a call's
// counters in one script run; RedisClusterBudgetStore one run per slot group, whose reply positions
// are positions in the group, mapped back to the call's through `indexes`.

/** The reservation's member in a counter's set: `id|pico|tokens`. */
export function member(id: string, pico: bigint, tokens: bigint): string {
  return `${id}|${pico}|${tokens}`;
}

/** A sliding window's `window ms, bucket ms`; two empty strings for a calendar counter (the script's layout). */
export function rollingArgs(counter: BudgetStoreCounter): [string, string] {
  return counter.rolling === undefined ? ['', ''] : [String(counter.rolling.windowMs), String(counter.rolling.bucketMs)];
}

/** A reply the script cannot give: a version mismatch or a foreign key. */
export function unexpected(reply: unknown): Error {
  return new Error(`unexpected reply from the budget script: ${JSON.stringify(reply)}`);
}

/** ARGV of a `reserve` run over `counters` (all of the request's, or one slot group's). */
export function reserveArgs(request: BudgetStoreReserveRequest, counters: readonly BudgetStoreCounter[]): string[] {
  const args = [
    'reserve',
    String(request.now),
    member(request.id, request.pico, request.tokens),
    String(request.expiresAt),
    request.pico.toString(),
    request.tokens.toString(),
    request.check,
  ];
  for (const counter of counters) {
    args.push(counter.limitPico?.toString() ?? '', counter.limitTokens?.toString() ?? '', String(counter.ttlMs), ...rollingArgs(counter));
  }
  return args;
}

/** What one `commit` run releases and books. */
export interface CommitRun {
  /** The guard's time (epoch ms). */
  now: number;
  /** The reservation given back, if any; its keys are the run's first `releaseCount` counters. */
  release: BudgetStoreRelease | undefined;
  /** How many of the run's counters (the first ones) the release covers. */
  releaseCount: number;
  /** The amount booked on `spendCounters`. */
  spend: BudgetStoreCommitRequest['spend'];
  /** The counters that book the spend, after the released ones. */
  spendCounters: readonly BudgetStoreCounter[];
}

/** ARGV of a `commit` run. */
export function commitArgs(run: CommitRun): string[] {
  const release = run.release;
  const args = [
    'commit',
    String(run.now),
    release === undefined ? '' : member(release.id, release.pico, release.tokens),
    String(run.releaseCount),
    (run.spend?.pico ?? 0n).toString(),
    (run.spend?.tokens ?? 0n).toString(),
  ];
  for (const counter of run.spendCounters) {
    args.push(String(counter.ttlMs), (counter.alertsPico ?? []).join(','), (counter.alertsTokens ?? []).join(','), ...rollingArgs(counter));
  }
  return args;
}

/** The call's position of the counter at `position` in a run: `indexes[position]`, or the position itself. */
function callIndex(position: unknown, indexes: readonly number[] | undefined): number | undefined {
  const at = Number(position);
  if (indexes !== undefined) return indexes[at];
  return Number.isSafeInteger(at) && at >= 0 ? at : undefined;
}

/**
 * A `reserve` reply: `{'ok'}` (undefined) or the refusing counter,
 * `{'refused', index, unit, current, spent, reserved}`.
 */
export function refusalOf(reply: unknown, indexes?: readonly number[]): BudgetStoreRefusal | undefined {
  if (!Array.isArray(reply) || reply.length === 0) throw unexpected(reply);
  if (reply[0] === 'ok') return undefined;
  const [, index, unit, current, spent, reserved] = reply as (string | undefined)[];
  const at = callIndex(index, indexes);
  if (reply[0] !== 'refused' || (unit !== 'usd' && unit !== 'tokens') || at === undefined) throw unexpected(reply);
  const refusal: BudgetStoreRefusal = { index: at, unit, current: BigInt(String(current ?? '')) };
  if (spent !== undefined) refusal.spent = BigInt(spent);
  if (reserved !== undefined) refusal.reserved = BigInt(reserved);
  return refusal;
}

/** A `commit` reply: flat `index, unit, threshold, spent` quadruples, `index` a position in the run's spend counters. */
export function crossingsOf(reply: unknown, spending?: readonly number[]): BudgetStoreCrossing[] {
  if (!Array.isArray(reply) || reply.length % 4 !== 0) throw unexpected(reply);
  const crossings: BudgetStoreCrossing[] = [];
  for (let at = 0; at < reply.length; at += 4) {
    const unit = reply[at + 1] as unknown;
    const index = callIndex(reply[at], spending);
    if ((unit !== 'usd' && unit !== 'tokens') || index === undefined) throw unexpected(reply);
    crossings.push({ index, unit, threshold: Number(reply[at + 2]), spent: BigInt(String(reply[at + 3])) });
  }
  return crossings;
}

/** A `read` reply over `count` counters: flat `sp, st, rp, rt` per counter, in the run's order. */
export function readingsOf(reply: unknown, count: number): BudgetStoreReading[] {
  if (!Array.isArray(reply) || reply.length !== count * 4) throw unexpected(reply);
  const values = (reply as unknown[]).map((value) => BigInt(String(value)));
  const readings: BudgetStoreReading[] = [];
  for (let at = 0; at < count; at += 1) {
    readings.push({
      spentPico: values[at * 4]!,
      spentTokens: values[at * 4 + 1]!,
      reservedPico: values[at * 4 + 2]!,
      reservedTokens: values[at * 4 + 3]!,
    });
  }
  return readings;
}
