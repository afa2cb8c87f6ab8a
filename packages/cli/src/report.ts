import type { PicoUsd } from '@costspan/core';
import type { CostEvent, CostTotals } from '@costspan/sdk';
import { recordFromEvent, emptyRecord, type EventRecord } from './event-record.js';
import { latencyBucket, type LatencySummary } from './latency-stats.js';
import {
  OTHER,
  costOf,
  emptyGroup,
  addCallToGroup,
  groupOf,
  keyOf,
  mergeGroup,
  compareKeys,
  sortRows,
  toRow,
  type Group,
} from './report-group.js';
import { PivotAccumulator, type ReportPivot } from './report-pivot.js';
import { SPIKE_DIMENSIONS, SpikeTracker, type DailyCost, type Spike, type SpikeDimension, type SpikeRunCall } from './spikes.js';
import { WarningCollector, type ReportWarnings } from './report-warnings.js';
import { eventTimeMs, monthToDate } from './report-period.js';

// Types only from @costspan/sdk: the report's reading path must not load the SDK (see wire-pico.ts).

export { eventTimeMs } from './report-period.js';

/** One dimension's groups, with the last key looked up kept at hand. */
interface DimensionCache {
  groups: Map<string, Group>;
  key: string;
  group: Group | undefined;
}

/** What a breakdown groups by. `tag` rows are `key=value`; an event with two tags counts in both rows. */
export type ReportDimension = 'model' | 'provider' | 'agent' | 'scope' | 'user' | 'team' | 'org' | 'tag' | 'day' | 'run' | 'source';

/** Every dimension, in display order. */
export const REPORT_DIMENSIONS: readonly ReportDimension[] = [
  'model',
  'provider',
  'agent',
  'scope',
  'user',
  'team',
  'org',
  'tag',
  'day',
  'run',
  'source',
];

/** Dimensions shown when `--group-by` is not given. */
export const DEFAULT_DIMENSIONS: readonly ReportDimension[] = ['model', 'provider', 'agent', 'scope', 'user', 'team', 'org', 'tag', 'day'];

/** Options of {@link ReportAggregator}. */
export interface ReportOptions {
  /** Only events at or after this time (epoch ms). */
  sinceMs?: number;
  /** Only events before this time (epoch ms). */
  untilMs?: number;
  /** Breakdowns to compute. Default {@link DEFAULT_DIMENSIONS}. */
  dimensions?: readonly ReportDimension[];
  /** Distinct keys kept per dimension; the rest are pooled as `(other)`, so memory stays bounded. Default 100000. */
  maxGroupsPerDimension?: number;
  /** Two dimensions to cross in a {@link ReportPivot} (`--group-by user,model`); both are also broken down. */
  pivot?: readonly [ReportDimension, ReportDimension];
}

/** Options of {@link ReportAggregator.result}. */
export interface ReportResultOptions {
  /** Rows kept per breakdown, by cost; the rest are summed into {@link ReportBreakdown.rest}. Default: all. */
  top?: number;
  /** "Now" for month-to-date and the projection (epoch ms). Default: the latest event read. */
  asOfMs?: number;
}

/** One row of a report: a group's exact totals and derived figures. */
export interface ReportRow {
  key: string;
  totals: CostTotals;
  /** Root runs (session events) in the group. */
  runs: number;
  /** Steps a budget refused in the group's runs (session events' `budget_refusals`). */
  budgetRefusals: number;
  /** `input + output + reasoning - cached_discount`, exact. */
  cost: PicoUsd;
  /** Share of the report's total cost, 0..1 (display only). */
  share: number;
  /** Output tokens / total tokens; `null` without tokens. */
  tokenEfficiency: number | null;
  /** Cost per 1000 output tokens, exact to the pico-dollar; `null` without output tokens. */
  costPer1kOutput: PicoUsd | null;
  /** Calls' latency (token events' `latency_ms`); `null` when no call in the group had one. */
  latency: LatencySummary | null;
  /** Days on which this key (a day, agent, model or user) was a spike; see {@link Report.spikes}. */
  spikeDays: string[];
}

/** One breakdown: rows sorted by cost, highest first. */
export interface ReportBreakdown {
  dimension: ReportDimension;
  rows: ReportRow[];
  /** Rows cut by `top`, summed; `undefined` when none were cut. */
  rest: { count: number; row: ReportRow } | undefined;
}

/** Month-to-date spend and a linear projection for the whole month (UTC). */
export interface MonthToDate {
  /** `YYYY-MM`. */
  month: string;
  /** The time the figures are as of (ISO 8601). */
  asOf: string;
  cost: PicoUsd;
  /** Days of the month elapsed at `asOf`, fractional. */
  daysElapsed: number;
  daysInMonth: number;
  /** `cost / elapsed * month length`, exact to the pico-dollar; `null` at the very start of a month. */
  projected: PicoUsd | null;
}

/** A finished report. */
export interface Report {
  /** Timestamps of the first and last event counted. */
  firstTimestamp: string | undefined;
  lastTimestamp: string | undefined;
  totals: ReportRow;
  eventCounts: { token: number; session: number; attributed: number; outsidePeriod: number; nonUsd: number };
  monthToDate: MonthToDate | undefined;
  breakdowns: ReportBreakdown[];
  /** Unpriced calls, calls without usage and budget refusals: what makes the totals incomplete. */
  warnings: ReportWarnings;
  /** Days on which a day, agent, model or user cost more than 3× its trailing 7-day median, with the runs that made them. */
  spikes: Spike[];
  /** Spike dimensions with too many key-days to check in bounded memory. */
  spikesUnchecked: SpikeDimension[];
  /** The two `pivot` dimensions crossed; `undefined` without the option. */
  pivot: ReportPivot | undefined;
}

/**
 * Rolls cost events up into totals and breakdowns, one event at a time, in
 * memory bounded by the number of distinct keys (capped per dimension). Money
 * is summed exactly in integer pico-USD with the SDK's roll-up functions.
 *
 * Totals come from `llm.cost.token.recorded` events (one per model call);
 * session events add run counts; attributed events repeat the same cost per
 * principal and are therefore counted, not summed.
 *
 * @example
 * ```ts
 * const aggregator = new ReportAggregator({ dimensions: ['model', 'day'] });
 * await new EventScanner().scan(['events.jsonl'], (event) => aggregator.add(event));
 * const report = aggregator.result({ top: 10 });
 * ```
 */
export class ReportAggregator {
  private readonly totals: Group = emptyGroup();
  private readonly warnings = new WarningCollector();
  private readonly groups = new Map<ReportDimension, Map<string, Group>>();
  /** Per dimension, in the order of `dimensions`. */
  private readonly cache: DimensionCache[] = [];
  private readonly days = new Map<string, Group>();
  private lastDay = '';
  private lastDayGroup: Group | undefined;
  private readonly scratch: EventRecord = emptyRecord();
  private readonly runCall: SpikeRunCall = { runId: undefined, agent: undefined, user: undefined, model: '' };
  private readonly dimensions: readonly ReportDimension[];
  private readonly maxGroups: number;
  private readonly sinceMs: number | undefined;
  private readonly untilMs: number | undefined;
  private first: string | undefined;
  private last: string | undefined;
  private readonly counts = { token: 0, session: 0, attributed: 0, outsidePeriod: 0, nonUsd: 0 };
  private readonly pivot: PivotAccumulator | undefined;
  private readonly spikes: SpikeTracker;
  private readonly dailyTotal: DailyCost | undefined;

  constructor(options: ReportOptions = {}) {
    const pivot = options.pivot;
    const dimensions = options.dimensions ?? DEFAULT_DIMENSIONS;
    // A pivot's totals are its dimensions' breakdowns.
    this.dimensions = pivot === undefined ? dimensions : [...dimensions, ...pivot.filter((dimension) => !dimensions.includes(dimension))];
    this.pivot = pivot === undefined ? undefined : new PivotAccumulator(pivot[0], pivot[1]);
    this.spikes = new SpikeTracker(SPIKE_DIMENSIONS.filter((dimension) => dimension === 'day' || this.dimensions.includes(dimension)));
    this.dailyTotal = this.spikes.dailyCost('day', '');
    for (const dimension of this.dimensions) {
      const groups = dimension === 'day' ? this.days : new Map<string, Group>();
      this.groups.set(dimension, groups);
      this.cache.push({ groups, key: '', group: undefined });
    }
    this.maxGroups = options.maxGroupsPerDimension ?? 100_000;
    this.sinceMs = options.sinceMs;
    this.untilMs = options.untilMs;
  }

  /** Adds one validated event. */
  add(event: CostEvent): void {
    this.addRecord(recordFromEvent(event, this.scratch));
  }

  /**
   * Adds one valid event as a flat record (what `EventScanner.scanRecords` hands on,
   * from canonical lines without building the event). The record is read, not kept.
   */
  addRecord(record: EventRecord): void {
    if (this.sinceMs !== undefined || this.untilMs !== undefined) {
      const time = eventTimeMs(record.timestamp);
      if ((this.sinceMs !== undefined && time < this.sinceMs) || (this.untilMs !== undefined && time >= this.untilMs)) {
        this.counts.outsidePeriod += 1;
        return;
      }
    }
    switch (record.type) {
      case 'llm.cost.token.recorded':
        this.addToken(record);
        break;
      case 'llm.cost.session.recorded':
        this.addSession(record);
        break;
      case 'llm.cost.attributed':
        this.counts.attributed += 1;
        break;
    }
  }

  private see(timestamp: string): void {
    if (this.first === undefined || timestamp < this.first) this.first = timestamp;
    if (this.last === undefined || timestamp > this.last) this.last = timestamp;
  }

  /** The day's group, the last one kept at hand (events come roughly in time order). */
  private dayGroup(day: string): Group {
    if (day !== this.lastDay || this.lastDayGroup === undefined) {
      this.lastDayGroup = groupOf(this.days, day, Number.POSITIVE_INFINITY);
      this.lastDay = day;
    }
    return this.lastDayGroup;
  }

  /** The group of `key` in the `index`th dimension, the last one of each dimension kept at hand. */
  private keyGroup(index: number, key: string): Group {
    const cache = this.cache[index] as DimensionCache;
    if (cache.group !== undefined && cache.key === key) return cache.group;
    const group = groupOf(cache.groups, key, this.maxGroups);
    cache.key = key;
    cache.group = group;
    return group;
  }

  private addToken(record: EventRecord): void {
    const currency = record.currency;
    if (currency !== undefined && currency.toUpperCase() !== 'USD') {
      this.counts.nonUsd += 1;
      return;
    }
    this.counts.token += 1;
    this.see(record.timestamp);
    const model = record.model as string;
    this.warnings.addCall(record.priced, model);
    if (record.totalMismatch) this.warnings.addTotalMismatch();
    const latencyMs = record.latencyMs;
    // NaN: no latency.
    const bucket = latencyMs === undefined ? Number.NaN : latencyMs > 0 ? latencyBucket(latencyMs) : 0;
    const day = record.day;
    addCallToGroup(this.totals, record, bucket);
    addCallToGroup(this.dayGroup(day), record, bucket);
    // The call's cost: a safe integer of pico-USD, or (`exact`) a bigint when its parts were too large for numbers.
    const bigCost = record.bigCost;
    const exact = bigCost === undefined ? undefined : bigCost.input + bigCost.output + bigCost.reasoning - bigCost.cachedDiscount;
    const pico = bigCost === undefined ? record.input + record.output + record.reasoning - record.cachedDiscount : 0;
    this.dailyTotal?.add(day, pico, exact);
    const call = this.runCall;
    call.runId = record.run;
    call.agent = record.agent;
    call.user = record.actorId;
    call.model = model;
    this.spikes.addRunCost(day, call, pico, exact);
    const dimensions = this.dimensions;
    for (let index = 0; index < dimensions.length; index += 1) {
      const dimension = dimensions[index] as ReportDimension;
      if (dimension === 'day') continue;
      const spiking = dimension === 'agent' || dimension === 'model' || dimension === 'user';
      if (dimension === 'tag') {
        for (const key of record.tagKeys)
          addCallToGroup(groupOf((this.cache[index] as DimensionCache).groups, key, this.maxGroups), record, bucket);
        continue;
      }
      const key = keyOf(dimension, record);
      const group = this.keyGroup(index, key);
      addCallToGroup(group, record, bucket);
      if (spiking) {
        const groups = (this.cache[index] as DimensionCache).groups;
        (group.daily ??= this.spikes.dailyCost(dimension, groups.get(key) === group ? key : OTHER))?.add(day, pico, exact);
      }
    }
    if (this.pivot !== undefined) for (const group of this.pivotGroups(record)) addCallToGroup(group, record, bucket);
  }

  /** The record's keys in a dimension: one, or one per tag. */
  private keysIn(dimension: ReportDimension, record: EventRecord): readonly string[] {
    return dimension === 'tag' ? record.tagKeys : [keyOf(dimension, record)];
  }

  private pivotGroups(record: EventRecord): Group[] {
    const pivot = this.pivot;
    if (pivot === undefined) return [];
    const session = record.type === 'llm.cost.session.recorded';
    // A session counts in the dimensions it is broken down by: not in model, provider or scope.
    const skipped = (dimension: ReportDimension): boolean =>
      session && (dimension === 'model' || dimension === 'provider' || dimension === 'scope');
    if (skipped(pivot.rows) || skipped(pivot.columns)) return [];
    return pivot.groups(this.keysIn(pivot.rows, record), this.keysIn(pivot.columns, record));
  }

  private countRun(group: Group, record: EventRecord, refusals: number): void {
    group.runs += 1;
    group.refusals += refusals;
    group.totals.callCount += record.usageMissing;
    group.totals.usageMissingCallCount += record.usageMissing;
  }

  private addSession(record: EventRecord): void {
    this.counts.session += 1;
    this.warnings.addRun(record.usageMissing, record.unpricedModels, record.budgetRefusals);
    this.warnings.addSessionCalls(record.sessionCalls);
    // Calls that reported no usage have no token event: the session event is where they are counted.
    const refusals = record.budgetRefusals?.length ?? 0;
    this.countRun(this.totals, record, refusals);
    this.countRun(this.dayGroup(record.day), record, refusals);
    const dimensions = this.dimensions;
    for (let index = 0; index < dimensions.length; index += 1) {
      const dimension = dimensions[index] as ReportDimension;
      // Runs have no single model, and scopes are where calls are made.
      if (dimension === 'model' || dimension === 'provider' || dimension === 'scope' || dimension === 'day') continue;
      if (dimension === 'tag') {
        const groups = (this.cache[index] as DimensionCache).groups;
        for (const key of record.tagKeys) this.countRun(groupOf(groups, key, this.maxGroups), record, refusals);
        continue;
      }
      this.countRun(this.keyGroup(index, keyOf(dimension, record)), record, refusals);
    }
    for (const group of this.pivotGroups(record)) this.countRun(group, record, refusals);
  }

  /** An input cut short (`ScanStats.truncatedInputs`): warned about by every format. */
  addTruncatedInput(input: string): void {
    this.warnings.addTruncatedInput(input);
  }

  /** The report so far. Can be called more than once. */
  result(options: ReportResultOptions = {}): Report {
    const grand = costOf(this.totals.totals.costTotals());
    const breakdowns: ReportBreakdown[] = [];
    for (const dimension of this.dimensions) {
      const rows = [...this.groupsOf(dimension)].map(([key, group]) => toRow(key, group, grand));
      if (dimension === 'day') rows.sort((left, right) => compareKeys(left.key, right.key));
      else sortRows(rows);
      let rest: ReportBreakdown['rest'];
      const top = options.top;
      if (top !== undefined && top >= 0 && rows.length > top) {
        const cut = dimension === 'day' ? rows.splice(0, rows.length - top) : rows.splice(top);
        const pooled = emptyGroup();
        for (const row of cut) mergeGroup(pooled, this.groupsOf(dimension).get(row.key) as Group);
        rest = { count: cut.length, row: toRow(`(${cut.length} more)`, pooled, grand) };
      }
      breakdowns.push({ dimension, rows, rest });
    }
    const spikes = this.spikes.result();
    for (const breakdown of breakdowns) {
      for (const row of breakdown.rows) {
        row.spikeDays = spikes.spikes
          .filter((spike) => spike.dimension === breakdown.dimension && spike.key === row.key)
          .map((spike) => spike.day);
      }
    }
    const pivot = this.pivot;
    return {
      spikes: spikes.spikes,
      spikesUnchecked: spikes.unchecked,
      pivot: pivot === undefined ? undefined : pivot.result(this.groupsOf(pivot.rows), this.groupsOf(pivot.columns), grand, options.top),
      firstTimestamp: this.first,
      lastTimestamp: this.last,
      totals: toRow('total', this.totals, grand),
      eventCounts: { ...this.counts },
      monthToDate: monthToDate(this.days, options.asOfMs ?? (this.last === undefined ? undefined : eventTimeMs(this.last))),
      breakdowns,
      warnings: this.warnings.result(this.totals.totals.callCount),
    };
  }

  private groupsOf(dimension: ReportDimension): Map<string, Group> {
    return dimension === 'day' ? this.days : (this.groups.get(dimension) as Map<string, Group>);
  }
}
