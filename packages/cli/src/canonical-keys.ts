import type { CostEventType } from '@costspan/sdk';
import { equalAt } from './json-skip.js';

// The keys the fast path (canonical-line.ts) reads, by the object they are in, and their lookup.

/** Which object a key is read in. */
export enum Kind {
  Top,
  Payload,
  Cost,
  Usage,
  Model,
  Tags,
}

/** The keys the reader reads; any other key's value is skipped (checked as JSON). Envelope fields first: they are bits. */
export enum Field {
  EventId,
  EventType,
  Payload,
  SchemaVersion,
  Source,
  Timestamp,
  ActorId,
  OrgId,
  ParentSpanId,
  SpanId,
  Tags,
  TeamId,
  TraceId,
  AgentName,
  AgentRunId,
  Scope,
  PricingStatus,
  PricingTier,
  LatencyMs,
  Cost,
  TotalCost,
  TokenUsage,
  TotalTokenUsage,
  Model,
  CallCount,
  UnpricedCallCount,
  UsageMissingCallCount,
  BudgetRefusals,
  UnpricedModels,
  AttributionTarget,
  ServiceTier,
  InputCostUsd,
  OutputCostUsd,
  TotalCostUsd,
  CachedDiscountUsd,
  ReasoningCostUsd,
  Currency,
  InputTokens,
  OutputTokens,
  TotalTokens,
  CachedTokens,
  CacheCreationTokens,
  ReasoningTokens,
  Name,
  System,
  Unknown,
}

/**
 * Record fields a reader may leave undefined (`tagKeys`: `[(none)]`), for a consumer that never
 * reads them (a report not broken down by team, org, scope, provider or tag). Their values are
 * skipped as any JSON value, checked as JSON: the SDK's validation does not look at them, so the
 * lines read stay the same.
 */
export type UnreadField = 'teamId' | 'orgId' | 'scope' | 'provider' | 'tagKeys';

/** Each event type as it is written, quotes included: `event_type`'s value is one comparison. */
export const QUOTED_TYPES: Readonly<Record<CostEventType, Uint8Array>> = {
  'llm.cost.token.recorded': Buffer.from('"llm.cost.token.recorded"', 'latin1'),
  'llm.cost.session.recorded': Buffer.from('"llm.cost.session.recorded"', 'latin1'),
  'llm.cost.attributed': Buffer.from('"llm.cost.attributed"', 'latin1'),
};

/** A bit per {@link UnreadField}. */
export const UNREAD_BITS: Readonly<Record<UnreadField, number>> = { teamId: 1, orgId: 2, scope: 4, provider: 8, tagKeys: 16 };

export const ENVELOPE: number =
  (1 << Field.EventId) |
  (1 << Field.EventType) |
  (1 << Field.Payload) |
  (1 << Field.SchemaVersion) |
  (1 << Field.Source) |
  (1 << Field.Timestamp);

// prettier-ignore
const KEYS: ReadonlyArray<readonly [Kind, string, Field]> = [
  [Kind.Top, 'actor_id', Field.ActorId], [Kind.Top, 'event_id', Field.EventId], [Kind.Top, 'event_type', Field.EventType],
  [Kind.Top, 'org_id', Field.OrgId], [Kind.Top, 'parent_span_id', Field.ParentSpanId], [Kind.Top, 'payload', Field.Payload],
  [Kind.Top, 'schema_version', Field.SchemaVersion], [Kind.Top, 'source', Field.Source], [Kind.Top, 'span_id', Field.SpanId],
  [Kind.Top, 'tags', Field.Tags], [Kind.Top, 'team_id', Field.TeamId], [Kind.Top, 'timestamp', Field.Timestamp],
  [Kind.Top, 'trace_id', Field.TraceId],
  [Kind.Payload, 'agent_name', Field.AgentName], [Kind.Payload, 'agent_run_id', Field.AgentRunId], [Kind.Payload, 'scope', Field.Scope],
  [Kind.Payload, 'pricing_status', Field.PricingStatus], [Kind.Payload, 'pricing_tier', Field.PricingTier], [Kind.Payload, 'latency_ms', Field.LatencyMs], [Kind.Payload, 'cost', Field.Cost],
  [Kind.Payload, 'total_cost', Field.TotalCost], [Kind.Payload, 'token_usage', Field.TokenUsage],
  [Kind.Payload, 'total_token_usage', Field.TotalTokenUsage], [Kind.Payload, 'model', Field.Model],
  [Kind.Payload, 'call_count', Field.CallCount], [Kind.Payload, 'unpriced_call_count', Field.UnpricedCallCount],
  [Kind.Payload, 'usage_missing_call_count', Field.UsageMissingCallCount], [Kind.Payload, 'budget_refusals', Field.BudgetRefusals],
  [Kind.Payload, 'unpriced_models', Field.UnpricedModels], [Kind.Payload, 'attribution_target', Field.AttributionTarget],
  [Kind.Payload, 'service_tier', Field.ServiceTier],
  [Kind.Cost, 'input_cost_usd', Field.InputCostUsd], [Kind.Cost, 'output_cost_usd', Field.OutputCostUsd],
  [Kind.Cost, 'total_cost_usd', Field.TotalCostUsd], [Kind.Cost, 'cached_discount_usd', Field.CachedDiscountUsd],
  [Kind.Cost, 'reasoning_cost_usd', Field.ReasoningCostUsd], [Kind.Cost, 'currency', Field.Currency],
  [Kind.Usage, 'input_tokens', Field.InputTokens], [Kind.Usage, 'output_tokens', Field.OutputTokens],
  [Kind.Usage, 'total_tokens', Field.TotalTokens], [Kind.Usage, 'cached_tokens', Field.CachedTokens],
  [Kind.Usage, 'cache_creation_tokens', Field.CacheCreationTokens], [Kind.Usage, 'reasoning_tokens', Field.ReasoningTokens],
  [Kind.Model, 'name', Field.Name], [Kind.Model, 'system', Field.System],
];

export const MAX_ORDINALS = 32;

// Keys by kind in open-addressing tables of 64 slots (field + 1; 0 empty), found by the hash the reader computes as it scans a key.
const SLOTS = 64;
const TABLE = new Int32Array(6 * SLOTS);
const KEY_HASH = new Int32Array(Field.Unknown);
export const KEY_BYTES: Uint8Array[] = [];
for (const [kind, name, field] of KEYS) {
  let hash = 0;
  for (let index = 0; index < name.length; index += 1) hash = (Math.imul(hash, 31) + name.charCodeAt(index)) | 0;
  KEY_HASH[field] = hash;
  KEY_BYTES[field] = Buffer.from(name, 'latin1');
  let slot = hash & (SLOTS - 1);
  while (TABLE[kind * SLOTS + slot] !== 0) slot = (slot + 1) & (SLOTS - 1);
  TABLE[kind * SLOTS + slot] = field + 1;
}

/** The field of key `[start, end)` (its `hash`) in an object of `kind`; {@link Field.Unknown} for any other key. */
export function lookupKey(kind: Kind, bytes: Uint8Array, start: number, end: number, hash: number): Field {
  let slot = hash & (SLOTS - 1);
  for (;;) {
    const entry = TABLE[kind * SLOTS + slot] as number;
    if (entry === 0) return Field.Unknown;
    const field = (entry - 1) as Field;
    const name = KEY_BYTES[field] as Uint8Array;
    if (KEY_HASH[field] === hash && name.length === end - start && equalAt(bytes, start, name)) return field;
    slot = (slot + 1) & (SLOTS - 1);
  }
}
