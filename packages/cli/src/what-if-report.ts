import type { PicoUsd } from '@costspan/core';
import type { PriceRequest, PricedCall, PriceSource, TokenUsage } from '@costspan/pricing';
import { totalCost, type CostEvent } from '@costspan/sdk';
import { emptyTotals, parseEventTimestamp } from '@costspan/sdk/internal';
import { addWireCall } from './event-money.js';
import type { RepriceMapping, WhatIfOptions } from './what-if-options.js';

/** What a what-if report breaks down by. */
export type WhatIfDimension = 'model' | 'agent' | 'user' | 'team' | 'org' | 'tag';

/** Every what-if breakdown, in display order. */
export const WHAT_IF_DIMENSIONS: readonly WhatIfDimension[] = ['model', 'agent', 'user', 'team', 'org', 'tag'];

/** Actual and what-if cost of a group of calls, exact. */
export interface WhatIfRow {
  key: string;
  /** Model rows: the model its calls were re-priced as, when `--reprice` maps it. */
  target: string | undefined;
  calls: number;
  /** Calls given a new price (the rest keep their recorded cost). */
  repricedCalls: number;
  /** Calls that should have been re-priced but could not be: their what-if is their recorded cost. */
  notRepricedCalls: number;
  /** Calls recorded as unpriced (actual counted at $0, so a saving against them is unknown). */
  actualUnpricedCalls: number;
  actual: PicoUsd;
  whatIf: PicoUsd;
  /** `actual - whatIf`: positive is money saved. */
  saving: PicoUsd;
}

/** Calls of one model that could not be re-priced, and why. */
export interface NotRepriced {
  model: string;
  /** Model the calls were to be priced as. */
  target: string;
  /** `unknown_model`, `no_token_prices`, `invalid_usage`, `cache_write_ttl_unknown`, ... */
  code: string;
  reason: string;
  calls: number;
  actual: PicoUsd;
  /** Up to five event ids, to find the calls. */
  eventIds: string[];
}

/** A finished what-if report. */
export interface WhatIfReport {
  mappings: readonly RepriceMapping[];
  priceDate: string | undefined;
  priceFiles: readonly string[];
  totals: WhatIfRow;
  breakdowns: Array<{ dimension: WhatIfDimension; rows: WhatIfRow[] }>;
  notRepriced: NotRepriced[];
}

/** Options of {@link WhatIfAggregator}. */
export interface WhatIfAggregatorOptions extends WhatIfOptions {
  source: PriceSource;
  sinceMs?: number;
  untilMs?: number;
  /** Distinct keys per breakdown before the rest are pooled as `(other)`. Default 100000. */
  maxGroupsPerDimension?: number;
}

interface Group {
  target: string | undefined;
  calls: number;
  repriced: number;
  notRepriced: number;
  actualUnpriced: number;
  actual: PicoUsd;
  whatIf: PicoUsd;
}

interface CallOutcome {
  actual: PicoUsd;
  whatIf: PicoUsd;
  repriced: boolean;
  failed: boolean;
  unpriced: boolean;
}

const DAY_MS = 86_400_000;
const MAX_NOT_REPRICED_GROUPS = 1000;

/**
 * Re-prices recorded calls exactly from the token counts in their events, with another
 * model (`--reprice`), another day's prices (`--price-date`) or custom prices, through
 * `@costspan/pricing`. A call is re-priced when its model is mapped, when a price date is
 * given, or when a custom price matches it; other calls keep their recorded cost. A call that
 * should be re-priced but cannot be (no price for the target, invalid usage, a cache-write TTL
 * the event does not record and the target prices differently) keeps its recorded cost and is
 * listed in {@link WhatIfReport.notRepriced}: never a guess.
 */
export class WhatIfAggregator {
  private readonly options: WhatIfAggregatorOptions;
  private readonly targets = new Map<string, string>();
  private readonly totals = emptyGroup(undefined);
  private readonly groups = new Map<WhatIfDimension, Map<string, Group>>();
  private readonly failures = new Map<string, NotRepriced>();
  private readonly maxGroups: number;
  private readonly priceDayMs: number | undefined;

  constructor(options: WhatIfAggregatorOptions) {
    this.options = options;
    for (const mapping of options.mappings) this.targets.set(mapping.from.toLowerCase(), mapping.to);
    for (const dimension of WHAT_IF_DIMENSIONS) this.groups.set(dimension, new Map());
    this.maxGroups = options.maxGroupsPerDimension ?? 100_000;
    this.priceDayMs = options.priceDate === undefined ? undefined : Date.parse(`${options.priceDate}T00:00:00Z`);
  }

  /** Adds one validated event; only USD token events in the period count. */
  add(event: CostEvent): void {
    if (event.event_type !== 'llm.cost.token.recorded') return;
    const token = event as CostEvent<'llm.cost.token.recorded'>;
    const payload = token.payload;
    const currency = payload.cost.currency;
    if (currency !== undefined && currency.toUpperCase() !== 'USD') return;
    const time = parseEventTimestamp(event.timestamp);
    if (
      (this.options.sinceMs !== undefined && time < this.options.sinceMs) ||
      (this.options.untilMs !== undefined && time >= this.options.untilMs)
    )
      return;
    const model = payload.model.name;
    const target = this.targets.get(model.toLowerCase());
    const outcome = this.reprice(token, time, target);
    const count = (group: Group): void => {
      group.calls += 1;
      if (outcome.repriced) group.repriced += 1;
      if (outcome.failed) group.notRepriced += 1;
      if (outcome.unpriced) group.actualUnpriced += 1;
      group.actual += outcome.actual;
      group.whatIf += outcome.whatIf;
    };
    count(this.totals);
    for (const dimension of WHAT_IF_DIMENSIONS) {
      const groups = this.groups.get(dimension) as Map<string, Group>;
      for (const key of keysOf(dimension, token)) count(this.group(groups, key, dimension === 'model' ? target : undefined));
    }
  }

  private reprice(event: CostEvent<'llm.cost.token.recorded'>, time: number, target: string | undefined): CallOutcome {
    const payload = event.payload;
    const recorded = emptyTotals();
    addWireCall(recorded, payload.cost, payload.token_usage, true);
    const actual = totalCost(recorded);
    const unpriced = payload.pricing_status === 'unpriced';
    const keep = (failed: boolean): CallOutcome => ({ actual, whatIf: actual, repriced: false, failed, unpriced });
    const mustReprice = target !== undefined || this.priceDayMs !== undefined;
    if (!mustReprice && this.options.customPrices.length === 0) return keep(false);
    const usage = payload.token_usage;
    const tokens: TokenUsage = {
      input: usage.input_tokens,
      output: usage.output_tokens,
      cacheRead: usage.cached_tokens ?? 0,
      cacheWrite: usage.cache_creation_tokens ?? 0,
      reasoning: usage.reasoning_tokens ?? 0,
    };
    // Same time of day on the price date: time-of-day prices (off-peak discounts) stay right.
    const timestamp = this.priceDayMs === undefined ? time : this.priceDayMs + (((time % DAY_MS) + DAY_MS) % DAY_MS);
    const system = payload.model.system;
    const request: PriceRequest = {
      model: target ?? payload.model.name,
      // A substituted model may be another provider's: its own name finds it.
      ...(target === undefined && system !== 'unknown' ? { provider: system } : {}),
      usage: tokens,
      timestamp,
    };
    const result = this.options.source.price(request);
    if (result.status === 'unpriced') {
      if (!mustReprice) return keep(false);
      const hint = result.code === 'unknown_model' || result.code === 'no_price_in_force' ? '; give it a price with --prices FILE' : '';
      this.fail(event, request.model, result.code ?? 'unpriced', `${result.reason}${hint}`, actual);
      return keep(true);
    }
    if (!mustReprice && result.tier.data_source !== 'custom') return keep(false);
    // Events do not record which cache writes had a 1-hour TTL; when the target prices them
    // differently, any figure would be a guess.
    if ((tokens.cacheWrite ?? 0) > 0 && differsWith1hWrites(this.options.source, request, result)) {
      this.fail(
        event,
        request.model,
        'cache_write_ttl_unknown',
        `${request.model} prices 1-hour cache writes differently and the event does not record their TTL`,
        actual,
      );
      return keep(true);
    }
    return { actual, whatIf: totalCost(result.cost), repriced: true, failed: false, unpriced };
  }

  private fail(event: CostEvent<'llm.cost.token.recorded'>, target: string, code: string, reason: string, actual: PicoUsd): void {
    const model = event.payload.model.name;
    const key = `${model}\u0000${target}\u0000${code}`;
    let entry = this.failures.get(key);
    if (entry === undefined) {
      if (this.failures.size >= MAX_NOT_REPRICED_GROUPS) return;
      entry = { model, target, code, reason, calls: 0, actual: 0n, eventIds: [] };
      this.failures.set(key, entry);
    }
    entry.calls += 1;
    entry.actual += actual;
    if (entry.eventIds.length < 5) entry.eventIds.push(event.event_id);
  }

  private group(groups: Map<string, Group>, key: string, target: string | undefined): Group {
    let group = groups.get(key);
    if (group === undefined) {
      if (groups.size >= this.maxGroups) key = '(other)';
      group = groups.get(key);
      if (group === undefined) {
        group = emptyGroup(key === '(other)' ? undefined : target);
        groups.set(key, group);
      }
    }
    return group;
  }

  /**
   * The report so far; `top` keeps that many rows per breakdown by actual cost and pools the rest;
   * `dimensions` (e.g. `--group-by`) picks the breakdowns among {@link WHAT_IF_DIMENSIONS} (all when it names none of them).
   */
  result(options: { top?: number; dimensions?: readonly string[] } = {}): WhatIfReport {
    const picked = WHAT_IF_DIMENSIONS.filter((dimension) => options.dimensions?.includes(dimension) === true);
    const breakdowns = (picked.length === 0 ? WHAT_IF_DIMENSIONS : picked).map((dimension) => {
      const rows = [...(this.groups.get(dimension) as Map<string, Group>)].map(([key, group]) => toRow(key, group));
      rows.sort((left, right) => (left.actual === right.actual ? compare(left.key, right.key) : left.actual > right.actual ? -1 : 1));
      const top = options.top;
      if (top !== undefined && rows.length > top) {
        const cut = rows.splice(top);
        const pooled = emptyGroup(undefined);
        for (const row of cut) {
          pooled.calls += row.calls;
          pooled.repriced += row.repricedCalls;
          pooled.notRepriced += row.notRepricedCalls;
          pooled.actualUnpriced += row.actualUnpricedCalls;
          pooled.actual += row.actual;
          pooled.whatIf += row.whatIf;
        }
        rows.push(toRow(`(${cut.length} more)`, pooled));
      }
      return { dimension, rows };
    });
    const notRepriced = [...this.failures.values()]
      .map((entry) => ({ ...entry, eventIds: [...entry.eventIds] }))
      .sort((left, right) => right.calls - left.calls || compare(left.model, right.model));
    return {
      mappings: this.options.mappings,
      priceDate: this.options.priceDate,
      priceFiles: this.options.priceFiles,
      totals: toRow('total', this.totals),
      breakdowns,
      notRepriced,
    };
  }
}

function differsWith1hWrites(source: PriceSource, request: PriceRequest, result: PricedCall): boolean {
  const other = source.price({ ...request, usage: { ...request.usage, cacheWrite1h: request.usage.cacheWrite ?? 0 } });
  return other.status !== 'priced' || totalCost(other.cost) !== totalCost(result.cost);
}

function emptyGroup(target: string | undefined): Group {
  return { target, calls: 0, repriced: 0, notRepriced: 0, actualUnpriced: 0, actual: 0n, whatIf: 0n };
}

function toRow(key: string, group: Group): WhatIfRow {
  return {
    key,
    target: group.target,
    calls: group.calls,
    repricedCalls: group.repriced,
    notRepricedCalls: group.notRepriced,
    actualUnpricedCalls: group.actualUnpriced,
    actual: group.actual,
    whatIf: group.whatIf,
    saving: group.actual - group.whatIf,
  };
}

function compare(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function keysOf(dimension: WhatIfDimension, event: CostEvent<'llm.cost.token.recorded'>): string[] {
  switch (dimension) {
    case 'model':
      return [event.payload.model.name];
    case 'agent':
      return [event.payload.agent_name ?? '(none)'];
    case 'user':
      return [event.actor_id ?? '(none)'];
    case 'team':
      return [event.team_id ?? '(none)'];
    case 'org':
      return [event.org_id ?? '(none)'];
    case 'tag': {
      const tags = event.tags;
      const entries = tags === undefined || tags === null || typeof tags !== 'object' ? [] : Object.entries(tags);
      return entries.length === 0 ? ['(none)'] : entries.map(([key, value]) => `${key}=${String(value)}`);
    }
  }
}
