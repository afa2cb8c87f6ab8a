import type { PicoUsd } from '@costspan/core';
import type { CostTotals } from '@costspan/sdk';
import type { UnreadField } from './canonical-keys.js';
import { NONE, type EventRecord } from './event-record.js';
import { LatencyStats } from './latency-stats.js';
import type { ReportDimension, ReportRow } from './report.js';
import type { DailyCost } from './spikes.js';
import { ratioPico } from './wire-pico.js';

// The running state of one report row and the pure helpers around it, shared by
// breakdowns and pivots (report.ts, report-pivot.ts). Types only from @costspan/sdk:
// this is on the report's reading path, which must not load the SDK (see wire-pico.ts).

export { NONE } from './event-record.js';

// Money sums stay plain numbers (exact integers of pico-USD) while below 2^52; each call adds
// less than 2^50 (larger calls come as bigints), so a sum never passes 2^53 before it is folded.
const FOLD_AT = 2 ** 52;

/**
 * One group's running totals: the SDK's `CostTotals` roll-up (`addCall`, `addTotals`)
 * kept in numbers instead of bigints on the hot path, exact all the same: money is
 * integer pico-USD in numbers while the sums are safe integers, folded into bigints
 * before they could lose a digit. {@link GroupTotals.costTotals} gives the `CostTotals`.
 */
export class GroupTotals {
  input = 0;
  output = 0;
  reasoning = 0;
  cachedDiscount = 0;
  /** Money folded out of the numbers (or added as bigints); `undefined` until needed. */
  big: { input: bigint; output: bigint; reasoning: bigint; cachedDiscount: bigint } | undefined = undefined;
  inputTokens = 0;
  outputTokens = 0;
  totalTokens = 0;
  cacheReadTokens = 0;
  cacheWriteTokens = 0;
  reasoningTokens = 0;
  callCount = 0;
  unpricedCallCount = 0;
  usageMissingCallCount = 0;

  /** Adds one call (a token event's record), as the SDK's `addCall` does. */
  addCall(record: EventRecord): void {
    const bigCost = record.bigCost;
    if (bigCost === undefined) {
      this.input += record.input;
      this.output += record.output;
      this.reasoning += record.reasoning;
      this.cachedDiscount += record.cachedDiscount;
      if (this.input >= FOLD_AT || this.output >= FOLD_AT || this.reasoning >= FOLD_AT || this.cachedDiscount >= FOLD_AT) this.fold();
    } else {
      const big = this.bigSums();
      big.input += bigCost.input;
      big.output += bigCost.output;
      big.reasoning += bigCost.reasoning;
      big.cachedDiscount += bigCost.cachedDiscount;
    }
    this.inputTokens += record.inputTokens;
    this.outputTokens += record.outputTokens;
    this.totalTokens += record.totalTokens;
    this.cacheReadTokens += record.cacheReadTokens;
    this.cacheWriteTokens += record.cacheWriteTokens;
    this.reasoningTokens += record.reasoningTokens;
    this.callCount += 1;
    if (!record.priced) this.unpricedCallCount += 1;
  }

  /** Adds everything of `source`, as the SDK's `addTotals` does. */
  addTotals(source: GroupTotals): void {
    this.input += source.input;
    this.output += source.output;
    this.reasoning += source.reasoning;
    this.cachedDiscount += source.cachedDiscount;
    this.fold();
    if (source.big !== undefined) {
      const big = this.bigSums();
      big.input += source.big.input;
      big.output += source.big.output;
      big.reasoning += source.big.reasoning;
      big.cachedDiscount += source.big.cachedDiscount;
    }
    this.inputTokens += source.inputTokens;
    this.outputTokens += source.outputTokens;
    this.totalTokens += source.totalTokens;
    this.cacheReadTokens += source.cacheReadTokens;
    this.cacheWriteTokens += source.cacheWriteTokens;
    this.reasoningTokens += source.reasoningTokens;
    this.callCount += source.callCount;
    this.unpricedCallCount += source.unpricedCallCount;
    this.usageMissingCallCount += source.usageMissingCallCount;
  }

  private bigSums(): { input: bigint; output: bigint; reasoning: bigint; cachedDiscount: bigint } {
    return (this.big ??= { input: 0n, output: 0n, reasoning: 0n, cachedDiscount: 0n });
  }

  private fold(): void {
    if (this.input === 0 && this.output === 0 && this.reasoning === 0 && this.cachedDiscount === 0) return;
    const big = this.bigSums();
    big.input += BigInt(this.input);
    big.output += BigInt(this.output);
    big.reasoning += BigInt(this.reasoning);
    big.cachedDiscount += BigInt(this.cachedDiscount);
    this.input = this.output = this.reasoning = this.cachedDiscount = 0;
  }

  /** The totals as the SDK's exact `CostTotals` (bigint money). */
  costTotals(): CostTotals {
    const big = this.big;
    return {
      input: BigInt(this.input) + (big?.input ?? 0n),
      output: BigInt(this.output) + (big?.output ?? 0n),
      reasoning: BigInt(this.reasoning) + (big?.reasoning ?? 0n),
      cachedDiscount: BigInt(this.cachedDiscount) + (big?.cachedDiscount ?? 0n),
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      totalTokens: this.totalTokens,
      cacheReadTokens: this.cacheReadTokens,
      cacheWriteTokens: this.cacheWriteTokens,
      reasoningTokens: this.reasoningTokens,
      callCount: this.callCount,
      unpricedCallCount: this.unpricedCallCount,
      usageMissingCallCount: this.usageMissingCallCount,
    };
  }
}

/** `input + output + reasoning - cachedDiscount` of exact totals (the SDK's `totalCost`, without loading it). */
export function costOf(totals: Pick<CostTotals, 'input' | 'output' | 'reasoning' | 'cachedDiscount'>): PicoUsd {
  return totals.input + totals.output + totals.reasoning - totals.cachedDiscount;
}

/** One group's running totals. */
export interface Group {
  totals: GroupTotals;
  runs: number;
  refusals: number;
  latency: LatencyStats;
  /** The group's cost per day, for spikes (agent, model and user groups); set on first use. */
  daily: DailyCost | undefined;
}

/** A fresh, empty {@link Group}. */
export function emptyGroup(): Group {
  return { totals: new GroupTotals(), runs: 0, refusals: 0, latency: new LatencyStats(), daily: undefined };
}

/** Adds one call (its totals and latency; `latencyBucket` is NaN without one) to `group`. */
export function addCallToGroup(group: Group, record: EventRecord, latencyBucket: number): void {
  group.totals.addCall(record);
  if (latencyBucket === latencyBucket) group.latency.add(record.latencyMs as number, latencyBucket);
}

/** Adds everything of `source` to `target` (pooled rows). */
export function mergeGroup(target: Group, source: Group): void {
  target.totals.addTotals(source.totals);
  target.runs += source.runs;
  target.refusals += source.refusals;
  target.latency.merge(source.latency);
}

/** Key of the group that pools keys beyond the per-dimension cap. */
export const OTHER = '(other)';

/** The group `key` of `groups`, created on first use; beyond `max` keys, the {@link OTHER} group. */
export function groupOf(groups: Map<string, Group>, key: string, max: number): Group {
  let group = groups.get(key);
  if (group === undefined) {
    if (groups.size >= max) key = OTHER;
    group = groups.get(key);
    if (group === undefined) {
      group = emptyGroup();
      groups.set(key, group);
    }
  }
  return group;
}

/**
 * The key a record has in `dimension`, for every dimension but `tag` (one key per
 * tag: {@link EventRecord.tagKeys}).
 */
export function keyOf(dimension: Exclude<ReportDimension, 'tag'>, record: EventRecord): string {
  switch (dimension) {
    case 'model':
      return record.model ?? NONE;
    case 'provider':
      return record.provider ?? NONE;
    case 'agent':
      return record.agent ?? NONE;
    case 'scope':
      return record.scope ?? NONE;
    case 'user':
      return record.actorId ?? NONE;
    case 'team':
      return record.teamId ?? NONE;
    case 'org':
      return record.orgId ?? NONE;
    case 'day':
      return record.day;
    case 'run':
      return record.run ?? NONE;
    case 'source':
      return record.source;
  }
}

// The record fields only a breakdown by their dimension reads (keyOf): the others the aggregation never reads.
const ONLY_READ_BY: ReadonlyArray<readonly [UnreadField, ReportDimension]> = [
  ['teamId', 'team'],
  ['orgId', 'org'],
  ['scope', 'scope'],
  ['provider', 'provider'],
  ['tagKeys', 'tag'],
];

/** The record fields an aggregation over `dimensions` never reads: a scan may leave them undefined. */
export function unreadFields(dimensions: readonly ReportDimension[]): UnreadField[] {
  return ONLY_READ_BY.filter(([, dimension]) => !dimensions.includes(dimension)).map(([field]) => field);
}

/** A group as a finished row; `grand` is the report's total cost (for the share). */
export function toRow(key: string, group: Group, grand: PicoUsd): ReportRow {
  const totals = group.totals.costTotals();
  const cost = costOf(totals);
  return {
    key,
    totals,
    runs: group.runs,
    budgetRefusals: group.refusals,
    cost,
    share: grand === 0n ? 0 : Number((cost * 1_000_000n) / grand) / 1_000_000,
    tokenEfficiency: totals.totalTokens === 0 ? null : Math.round((totals.outputTokens / totals.totalTokens) * 10_000) / 10_000,
    costPer1kOutput: totals.outputTokens === 0 ? null : ratioPico(cost, 1000n, BigInt(totals.outputTokens)),
    latency: group.latency.summary(),
    spikeDays: [],
  };
}

/** Plain string order (not locale order: the same on every machine). */
export function compareKeys(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Highest cost first; then most calls; then by key. */
export function sortRows(rows: ReportRow[]): void {
  rows.sort((left, right) =>
    left.cost === right.cost
      ? right.totals.callCount - left.totals.callCount || compareKeys(left.key, right.key)
      : left.cost > right.cost
        ? -1
        : 1,
  );
}
