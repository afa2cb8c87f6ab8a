import type { PicoUsd } from '@costspan/core';
import type { BudgetRefusalWire, CostEvent, CostEventType } from '@costspan/sdk';
import { latencyOf } from './latency-stats.js';
import { wireToPico } from './wire-pico.js';

// Types only from @costspan/sdk: the report's reading path must not load the SDK (see wire-pico.ts).

/** Key of the group of events without the dimension. */
export const NONE = '(none)';

/** A call's money below this many pico-dollars in each part is carried as plain numbers (exact). */
export const SMALL_PICO_LIMIT: number = 2 ** 50;

/**
 * Pico-dollars by which a token event's written `total_cost_usd` may differ from the sum of its
 * written parts before it is a mismatch, plus one per 2^52 pico-dollars (~$4,504) of the five
 * amounts together. Past 15 significant digits an amount is written as the double's shortest
 * form (docs/wire-format.md, "Money"): within one pico-dollar of the exact amount under ~$8,192,
 * within one unit in the last place (the amount / 2^52) above, each then read to the nearest pico.
 */
export const TOTAL_TOLERANCE_PICO = 4;
const TOLERANCE = BigInt(TOTAL_TOLERANCE_PICO);
const TOLERANCE_STEP = 2 ** 52;

/** Whether a token event's written `total` (pico-USD) differs from the sum of its (small) parts: the slow path's rule in numbers. */
export function totalDiffers(record: EventRecord, total: number): boolean {
  // Integers below 2^50 each: the sums are exact.
  const parts = record.input + record.output + record.reasoning;
  const difference = total - (parts - record.cachedDiscount);
  const tolerance = TOTAL_TOLERANCE_PICO + Math.floor((total + parts + record.cachedDiscount) / TOLERANCE_STEP);
  return difference > tolerance || difference < -tolerance;
}

/**
 * What a report reads of one valid cost event, flat: the same fields for a
 * line read by the canonical fast path (`canonical-line.ts`) and for an event
 * parsed and validated the slow way ({@link recordFromEvent}), so both feed one
 * aggregation path. The scanner reuses one record for every event: read it
 * during the call, never keep it.
 *
 * Values are the event's own, unconverted, so odd input (a numeric `actor_id`)
 * behaves as it did when the report read events; `undefined` where the event
 * has no such field.
 */
export interface EventRecord {
  type: CostEventType;
  /** The envelope `timestamp` (canonical: 27 characters, UTC). */
  timestamp: string;
  /** `timestamp.slice(0, 10)`. */
  day: string;
  source: string;
  actorId: string | undefined;
  teamId: string | undefined;
  orgId: string | undefined;
  /** The `tag` dimension's keys (`key=value` per own entry of `tags`), or `[(none)]`. */
  tagKeys: readonly string[];
  /** Token events: `payload.model.name`; session events: undefined. */
  model: string | undefined;
  provider: string | undefined;
  agent: string | undefined;
  scope: string | undefined;
  run: string | undefined;
  /** Token events: `pricing_status !== 'unpriced'`. */
  priced: boolean;
  currency: string | undefined;
  /** Token events: the cost parts in pico-USD as numbers, each below {@link SMALL_PICO_LIMIT}, unless `bigCost` is set. */
  input: number;
  output: number;
  reasoning: number;
  cachedDiscount: number;
  /** The cost parts when one is at or above {@link SMALL_PICO_LIMIT} (the numbers are then 0). */
  bigCost: { input: PicoUsd; output: PicoUsd; reasoning: PicoUsd; cachedDiscount: PicoUsd } | undefined;
  /**
   * Token events: `total_cost_usd` differs from the sum of the parts by more than the wire's
   * rounding ({@link TOTAL_TOLERANCE_PICO}): a foreign or faulty writer. The report sums the parts.
   */
  totalMismatch: boolean;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  /** Token events: `latency_ms` when a finite number >= 0. */
  latencyMs: number | undefined;
  /** Session events: `usage_missing_call_count`, else 0. */
  usageMissing: number;
  /** Session events: `call_count` (every call of the run's tree), else 0. */
  sessionCalls: number;
  unpricedModels: readonly string[] | undefined;
  budgetRefusals: readonly BudgetRefusalWire[] | undefined;
}

/** A record with every field empty, to be filled in place. */
export function emptyRecord(): EventRecord {
  return {
    type: 'llm.cost.attributed',
    timestamp: '',
    day: '',
    source: '',
    actorId: undefined,
    teamId: undefined,
    orgId: undefined,
    tagKeys: [NONE],
    model: undefined,
    provider: undefined,
    agent: undefined,
    scope: undefined,
    run: undefined,
    priced: true,
    currency: undefined,
    input: 0,
    output: 0,
    reasoning: 0,
    cachedDiscount: 0,
    bigCost: undefined,
    totalMismatch: false,
    inputTokens: 0,
    outputTokens: 0,
    totalTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    latencyMs: undefined,
    usageMissing: 0,
    sessionCalls: 0,
    unpricedModels: undefined,
    budgetRefusals: undefined,
  };
}

/** The `tag` dimension's keys of an event's `tags`: one `key=value` per own entry, or `[(none)]`. */
export function tagKeysOf(tags: unknown): string[] {
  if (tags === undefined || typeof tags !== 'object' || tags === null) return [NONE];
  // Own entries only: a tag named `constructor` or `__proto__` is a tag like any other.
  const entries = Object.entries(tags);
  return entries.length === 0 ? [NONE] : entries.map(([key, value]) => `${key}=${String(value)}`);
}

/** Sets a token event's count: 0 input, 1 output, 2 total, 3 cache read, 4 cache write, 5 reasoning. */
export function setCount(record: EventRecord, index: number, value: number): void {
  if (index === 0) record.inputTokens = value;
  else if (index === 1) record.outputTokens = value;
  else if (index === 2) record.totalTokens = value;
  else if (index === 3) record.cacheReadTokens = value;
  else if (index === 4) record.cacheWriteTokens = value;
  else record.reasoningTokens = value;
}

/** Sets a token event's cost part in pico-USD: 0 input, 1 output, 2 reasoning, 3 cached discount (4: none, the total). */
export function setCostPart(record: EventRecord, part: number, pico: number): void {
  if (part === 0) record.input = pico;
  else if (part === 1) record.output = pico;
  else if (part === 2) record.reasoning = pico;
  else if (part === 3) record.cachedDiscount = pico;
}

/** Fills `record` from a validated event (the slow path); returns it. */
export function recordFromEvent(event: CostEvent, record: EventRecord = emptyRecord()): EventRecord {
  record.type = event.event_type;
  record.timestamp = event.timestamp;
  record.day = event.timestamp.slice(0, 10);
  record.source = event.source;
  record.actorId = event.actor_id;
  record.teamId = event.team_id;
  record.orgId = event.org_id;
  record.tagKeys = tagKeysOf(event.tags);
  record.bigCost = undefined;
  record.totalMismatch = false;
  record.input = record.output = record.reasoning = record.cachedDiscount = 0;
  record.unpricedModels = undefined;
  record.budgetRefusals = undefined;
  record.usageMissing = record.sessionCalls = 0;
  record.latencyMs = undefined;
  record.currency = undefined;
  record.priced = true;
  record.inputTokens = record.outputTokens = record.totalTokens = 0;
  record.cacheReadTokens = record.cacheWriteTokens = record.reasoningTokens = 0;
  if (event.event_type === 'llm.cost.token.recorded') {
    const payload = (event as CostEvent<'llm.cost.token.recorded'>).payload;
    record.model = payload.model.name;
    record.provider = payload.model.system;
    record.agent = payload.agent_name;
    record.scope = payload.scope;
    record.run = payload.agent_run_id;
    record.priced = payload.pricing_status !== 'unpriced';
    record.currency = payload.cost.currency;
    setCost(record, payload.cost);
    const usage = payload.token_usage;
    // As the SDK's roll-up reads a wire call (`addWireCall`): absent buckets are 0.
    record.inputTokens = usage?.input_tokens ?? 0;
    record.outputTokens = usage?.output_tokens ?? 0;
    record.totalTokens = usage?.total_tokens ?? 0;
    record.cacheReadTokens = usage?.cached_tokens ?? 0;
    record.cacheWriteTokens = usage?.cache_creation_tokens ?? 0;
    record.reasoningTokens = usage?.reasoning_tokens ?? 0;
    record.latencyMs = latencyOf(payload);
  } else {
    const payload = event.payload as { agent_name?: string; agent_run_id?: string };
    record.model = undefined;
    record.provider = undefined;
    record.agent = payload.agent_name;
    record.scope = undefined;
    record.run = payload.agent_run_id;
    if (event.event_type === 'llm.cost.session.recorded') {
      const session = (event as CostEvent<'llm.cost.session.recorded'>).payload;
      record.usageMissing = session.usage_missing_call_count ?? 0;
      record.sessionCalls = session.call_count;
      record.unpricedModels = session.unpriced_models;
      record.budgetRefusals = session.budget_refusals;
    }
  }
  return record;
}

function setCost(
  record: EventRecord,
  cost: {
    input_cost_usd: number;
    output_cost_usd: number;
    total_cost_usd: number;
    reasoning_cost_usd?: number;
    cached_discount_usd?: number;
  },
): void {
  const input = wireToPico(cost.input_cost_usd);
  const output = wireToPico(cost.output_cost_usd);
  const reasoning = wireToPico(cost.reasoning_cost_usd);
  const cachedDiscount = wireToPico(cost.cached_discount_usd);
  const limit = BigInt(SMALL_PICO_LIMIT);
  if (input < limit && output < limit && reasoning < limit && cachedDiscount < limit) {
    record.input = Number(input);
    record.output = Number(output);
    record.reasoning = Number(reasoning);
    record.cachedDiscount = Number(cachedDiscount);
  } else {
    record.bigCost = { input, output, reasoning, cachedDiscount };
  }
  // In bigints whatever the size: the fast path's rule (totalDiffers), to the pico.
  const total = wireToPico(cost.total_cost_usd);
  const difference = total - (input + output + reasoning - cachedDiscount);
  const tolerance = TOLERANCE + ((total + input + output + reasoning + cachedDiscount) >> 52n);
  record.totalMismatch = difference > tolerance || difference < -tolerance;
}
