import type { PicoUsd } from '@costspan/core';
import { addTotals, emptyTotals, totalCost, type CostEvent, type CostTotals } from '@costspan/sdk';
import { ratioPico } from './event-money.js';
import { LatencyStats } from './latency-stats.js';
import type { ReportDimension, ReportRow } from './report.js';
import type { DailyCost } from './spikes.js';

// The running state of one report row and the pure helpers around it, shared by
// breakdowns and pivots (report.ts, report-pivot.ts).

/** One group's running totals. */
export interface Group {
  totals: CostTotals;
  runs: number;
  refusals: number;
  latency: LatencyStats;
  /** The group's cost per day, for spikes (agent, model and user groups); set on first use. */
  daily: DailyCost | undefined;
}

/** A fresh, empty {@link Group}. */
export function emptyGroup(): Group {
  return { totals: emptyTotals(), runs: 0, refusals: 0, latency: new LatencyStats(), daily: undefined };
}

/** One call's latency, with its sketch bucket computed once for every group it is added to. */
export interface CallLatency {
  ms: number;
  bucket: number;
}

/** Adds one call (its totals and latency, if any) to `group`. */
export function addCallToGroup(group: Group, call: CostTotals, latency: CallLatency | undefined): void {
  addTotals(group.totals, call);
  if (latency !== undefined) group.latency.add(latency.ms, latency.bucket);
}

/** Adds everything of `source` to `target` (pooled rows). */
export function mergeGroup(target: Group, source: Group): void {
  addTotals(target.totals, source.totals);
  target.runs += source.runs;
  target.refusals += source.refusals;
  target.latency.merge(source.latency);
}

/** Key of the group that pools keys beyond the per-dimension cap. */
export const OTHER = '(other)';
/** Key of the group of events without the dimension. */
export const NONE = '(none)';

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

/** The fields of an event a dimension reads (token and session events name them differently). */
export interface EventFields {
  model: string | undefined;
  provider: string | undefined;
  agent: string | undefined;
  scope: string | undefined;
  run: string | undefined;
}

/** The keys an event has in `dimension`: one, or one per tag. */
export function keysOf(dimension: ReportDimension, event: CostEvent, fields: EventFields): string[] {
  switch (dimension) {
    case 'model':
      return [fields.model ?? NONE];
    case 'provider':
      return [fields.provider ?? NONE];
    case 'agent':
      return [fields.agent ?? NONE];
    case 'scope':
      return [fields.scope ?? NONE];
    case 'user':
      return [event.actor_id ?? NONE];
    case 'team':
      return [event.team_id ?? NONE];
    case 'org':
      return [event.org_id ?? NONE];
    case 'tag': {
      const tags = event.tags;
      if (tags === undefined || typeof tags !== 'object' || tags === null) return [NONE];
      // Own entries only: a tag named `constructor` or `__proto__` is a tag like any other.
      const entries = Object.entries(tags);
      return entries.length === 0 ? [NONE] : entries.map(([key, value]) => `${key}=${String(value)}`);
    }
    case 'day':
      return [event.timestamp.slice(0, 10)];
    case 'run':
      return [fields.run ?? NONE];
    case 'source':
      return [event.source];
  }
}

/** A group as a finished row; `grand` is the report's total cost (for the share). */
export function toRow(key: string, group: Group, grand: PicoUsd): ReportRow {
  const totals = group.totals;
  const cost = totalCost(totals);
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
