import type { CostEventType } from '@costspan/sdk';
import { NONE, type EventRecord } from './event-record.js';
import { copyOf, equalAt, isHexAt, isTimestampAt, isUlidAt, JsonSkipper, StringCache } from './json-skip.js';

/**
 * The report's fast path: reads a canonical event line (what the SDK's encoder
 * writes: keys in sorted order, no whitespace; docs/wire-format.md) straight
 * from its bytes into an {@link EventRecord}, without building the event.
 *
 * It accepts a line only when it is sure that `JSON.parse` and the SDK's
 * `validateCostEvent` would accept it and give the same record; anything else
 * (whitespace, escapes in a string it reads, a number it cannot convert
 * exactly, a field of an unexpected type, a session with refusals, ...) returns
 * false and the line takes the slow path, so odd input behaves as before. Every
 * byte is checked as JSON (skipped values too); objects it reads must have
 * strictly increasing ASCII keys, so no key can repeat. A test holds it equal
 * to the slow path over randomized canonical and odd lines.
 */

// The SDK's source pattern (events/cost-event-validation.ts); its other patterns are checked by hand (json-skip.ts).
const SOURCE_PATTERN = /^@?[A-Za-z0-9][A-Za-z0-9._/-]*@\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const NONE_KEYS: readonly string[] = Object.freeze([NONE]);
const TOKEN: CostEventType = 'llm.cost.token.recorded';
const SESSION: CostEventType = 'llm.cost.session.recorded';
const ATTRIBUTED: CostEventType = 'llm.cost.attributed';
const ascii = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const TYPE_BYTES = [ascii(TOKEN), ascii(SESSION), ascii(ATTRIBUTED)] as const;
const SCHEMA_BYTES = ascii('2.0');
const UNPRICED = ascii('unpriced');

// Bits of what an object had; a line is accepted only with all the bits its type requires.
const HAS_INPUT = 1;
const HAS_OUTPUT = 2;
const HAS_TOTAL = 4;
const PARTS = HAS_INPUT | HAS_OUTPUT | HAS_TOTAL;

/** Which object a key is read in. */
const enum Kind {
  Top,
  Payload,
  Cost,
  Usage,
  Model,
  Tags,
}

/** The keys the reader reads; any other key's value is skipped (checked as JSON). Envelope fields first: they are bits. */
const enum Field {
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

const ENVELOPE =
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
  [Kind.Cost, 'input_cost_usd', Field.InputCostUsd], [Kind.Cost, 'output_cost_usd', Field.OutputCostUsd],
  [Kind.Cost, 'total_cost_usd', Field.TotalCostUsd], [Kind.Cost, 'cached_discount_usd', Field.CachedDiscountUsd],
  [Kind.Cost, 'reasoning_cost_usd', Field.ReasoningCostUsd], [Kind.Cost, 'currency', Field.Currency],
  [Kind.Usage, 'input_tokens', Field.InputTokens], [Kind.Usage, 'output_tokens', Field.OutputTokens],
  [Kind.Usage, 'total_tokens', Field.TotalTokens], [Kind.Usage, 'cached_tokens', Field.CachedTokens],
  [Kind.Usage, 'cache_creation_tokens', Field.CacheCreationTokens], [Kind.Usage, 'reasoning_tokens', Field.ReasoningTokens],
  [Kind.Model, 'name', Field.Name], [Kind.Model, 'system', Field.System],
];

const MAX_ORDINALS = 32;

// Keys by kind in open-addressing tables of 64 slots (field + 1; 0 empty), found by the hash the reader computes as it scans a key.
const SLOTS = 64;
const TABLE = new Int32Array(6 * SLOTS);
const KEY_HASH = new Int32Array(Field.Unknown);
const KEY_BYTES: Uint8Array[] = [];
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
function lookupKey(kind: Kind, bytes: Uint8Array, start: number, end: number, hash: number): Field {
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

/** Reads canonical lines into one reused record; see the module comment. */
export class CanonicalLineReader extends JsonSkipper {
  /** The record of the last line read; valid until the next call. */
  readonly record: EventRecord;
  /** Offset of the last line's `event_id` (26 ULID characters) in its bytes. */
  idOffset = 0;
  private type: CostEventType | undefined;
  private envelope = 0;
  private parts = 0;
  private tokens = 0;
  private payloadKeys = 0;
  private modelName = false;
  /** Session: `call_count` seen; attributed: a non-empty `attribution_target` seen. */
  private required = false;
  private readonly strings = {
    actor: new StringCache(),
    team: new StringCache(),
    org: new StringCache(),
    source: new StringCache(SOURCE_PATTERN),
    agent: new StringCache(),
    scope: new StringCache(),
    model: new StringCache(),
    provider: new StringCache(),
    currency: new StringCache(),
    day: new StringCache(),
    // Each event's own, usually: the last one only.
    timestamp: new StringCache(undefined, false),
    run: new StringCache(undefined, false),
  };
  private lastTags: Uint8Array = new Uint8Array(0);
  private lastTagKeys: readonly string[] = NONE_KEYS;
  private readonly tagKeys: string[] = [];
  /** Per kind and ordinal, the field of the key the last line had there. */
  private readonly expected = new Int32Array(6 * MAX_ORDINALS).fill(Field.Unknown);
  private lastTier: Uint8Array = new Uint8Array(0);

  constructor(record: EventRecord) {
    super();
    this.record = record;
  }

  /** Reads the line `[start, end)` of `bytes` (a newline at `end`); false: take the slow path. */
  read(bytes: Buffer, start: number, end: number): boolean {
    this.bytes = bytes;
    const record = this.record;
    record.actorId = record.teamId = record.orgId = undefined;
    record.agent = record.run = record.scope = record.model = record.provider = record.currency = undefined;
    record.tagKeys = NONE_KEYS;
    record.priced = true;
    record.bigCost = undefined;
    record.input = record.output = record.reasoning = record.cachedDiscount = 0;
    record.inputTokens = record.outputTokens = record.totalTokens = 0;
    record.cacheReadTokens = record.cacheWriteTokens = record.reasoningTokens = 0;
    record.latencyMs = undefined;
    record.usageMissing = 0;
    record.unpricedModels = record.budgetRefusals = undefined;
    this.type = undefined;
    this.envelope = 0;
    return this.object(start, Kind.Top) === end && this.envelope === ENVELOPE && this.type !== undefined;
  }

  /**
   * An object whose keys are read; the offset after it, or -1. A known key may appear once
   * (JSON.parse would keep the last of two); unknown keys are skipped, so their order and
   * repeats change nothing read. Tags, all read, must have strictly increasing keys.
   */
  private object(position: number, kind: Kind): number {
    if (kind === Kind.Tags) return this.tagsObject(position);
    const bytes = this.bytes;
    if (bytes[position] !== 0x7b) return -1;
    let at = position + 1;
    const expected = this.expected;
    let seenLow = 0;
    let seenHigh = 0;
    for (let ordinal = kind * MAX_ORDINALS; ; ordinal += 1) {
      if (bytes[at] !== 0x22) return -1;
      // The key the last line had here, usually this one: one comparison instead of a scan and a lookup.
      let field: Field = ordinal < (kind + 1) * MAX_ORDINALS ? (expected[ordinal] as Field) : Field.Unknown;
      let keyEnd: number;
      const name = field === Field.Unknown ? undefined : (KEY_BYTES[field] as Uint8Array);
      if (name !== undefined && bytes[at + 1 + name.length] === 0x22 && equalAt(bytes, at + 1, name)) {
        keyEnd = at + 1 + name.length;
      } else {
        keyEnd = this.scanKey(at + 1);
        if (keyEnd < 0) return -1;
        field = lookupKey(kind, bytes, at + 1, keyEnd, this.keyHash);
        if (ordinal < (kind + 1) * MAX_ORDINALS) expected[ordinal] = field;
      }
      if (bytes[keyEnd + 1] !== 0x3a) return -1;
      if (field !== Field.Unknown) {
        if ((field as number) < 32) {
          if ((seenLow & (1 << field)) !== 0) return -1;
          seenLow |= 1 << field;
        } else {
          if ((seenHigh & (1 << (field - 32))) !== 0) return -1;
          seenHigh |= 1 << (field - 32);
        }
      }
      at = this.field(kind, field, keyEnd + 2);
      if (at < 0) return -1;
      const next = bytes[at];
      if (next === 0x2c) at += 1;
      else if (next === 0x7d) return at + 1;
      else return -1;
    }
  }

  private keyHash = 0;

  /** A key from the byte after its opening quote: the offset of its closing quote (hash in `keyHash`), or -1 (escapes, non-ASCII). */
  private scanKey(start: number): number {
    const bytes = this.bytes;
    let end = start;
    let hash = 0;
    for (;;) {
      const byte = bytes[end] as number;
      if (byte === 0x22) break;
      if (byte < 0x20 || byte === 0x5c || byte >= 0x80) return -1;
      hash = (Math.imul(hash, 31) + byte) | 0;
      end += 1;
    }
    this.keyHash = hash;
    return end;
  }

  /** Tags: every key read, strictly increasing (Object.entries order, no repeats); the offset after them, or -1. */
  private tagsObject(position: number): number {
    const bytes = this.bytes;
    if (bytes[position] !== 0x7b) return -1;
    let at = position + 1;
    if (bytes[at] === 0x7d) return at + 1;
    let previousStart = -1;
    let previousEnd = -1;
    for (;;) {
      if (bytes[at] !== 0x22) return -1;
      const keyStart = at + 1;
      const keyEnd = this.scanKey(keyStart);
      if (keyEnd < 0 || bytes[keyEnd + 1] !== 0x3a) return -1;
      if (previousStart >= 0 && !this.keyAfter(previousStart, previousEnd, keyStart, keyEnd)) return -1;
      at = this.tag(keyStart, keyEnd, keyEnd + 2);
      if (at < 0) return -1;
      previousStart = keyStart;
      previousEnd = keyEnd;
      const next = bytes[at];
      if (next === 0x2c) at += 1;
      else if (next === 0x7d) return at + 1;
      else return -1;
    }
  }

  /** Whether key `[start, end)` sorts after key `[previousStart, previousEnd)` (ASCII: code unit order). */
  private keyAfter(previousStart: number, previousEnd: number, start: number, end: number): boolean {
    const bytes = this.bytes;
    const length = Math.min(previousEnd - previousStart, end - start);
    for (let index = 0; index < length; index += 1) {
      const left = bytes[previousStart + index] as number;
      const right = bytes[start + index] as number;
      if (left !== right) return right > left;
    }
    return end - start > previousEnd - previousStart;
  }

  /** One field's value at `position`, read by what it is (`Field.Unknown`: skipped); the offset after it, or -1. */
  private field(kind: Kind, field: Field, position: number): number {
    const record = this.record;
    const strings = this.strings;
    if (kind === Kind.Payload) this.payloadKeys += 1;
    switch (field) {
      case Field.ActorId:
        record.actorId = this.take(position, strings.actor);
        return this.after;
      case Field.EventId:
        this.envelope |= 1 << Field.EventId;
        this.idOffset = position + 1;
        return isUlidAt(this.bytes, position) ? position + 28 : -1;
      case Field.EventType:
        return this.eventType(position);
      case Field.OrgId:
        record.orgId = this.take(position, strings.org);
        return this.after;
      case Field.ParentSpanId:
      case Field.SpanId:
        return isHexAt(this.bytes, position, 16) ? position + 18 : -1;
      case Field.TraceId:
        return isHexAt(this.bytes, position, 32) ? position + 34 : -1;
      case Field.Payload:
        this.envelope |= 1 << Field.Payload;
        return this.payload(position);
      case Field.SchemaVersion: {
        this.envelope |= 1 << Field.SchemaVersion;
        const after = this.string(position);
        return after >= 0 && this.stringIs(SCHEMA_BYTES) ? after : -1;
      }
      case Field.Source:
        this.envelope |= 1 << Field.Source;
        record.source = this.take(position, strings.source) as string;
        return this.after;
      case Field.Tags:
        return this.tags(position);
      case Field.TeamId:
        record.teamId = this.take(position, strings.team);
        return this.after;
      case Field.Timestamp:
        return this.timestamp(position);
      case Field.AgentName:
        record.agent = this.take(position, strings.agent);
        return this.after;
      case Field.AgentRunId:
        record.run = this.take(position, strings.run);
        return this.after;
      case Field.Scope:
        if (this.type !== TOKEN) break;
        record.scope = this.take(position, strings.scope);
        return this.after;
      case Field.PricingStatus: {
        if (this.type !== TOKEN) break;
        const after = this.string(position);
        record.priced = !this.stringIs(UNPRICED);
        return after;
      }
      case Field.PricingTier:
        return this.tier(position);
      case Field.LatencyMs: {
        if (this.type !== TOKEN) break;
        const after = this.decimal(position);
        record.latencyMs = this.number;
        return after;
      }
      case Field.Cost:
        return this.type === SESSION ? this.skipValue(position, 0) : this.object(position, Kind.Cost);
      case Field.TotalCost:
        return this.type === SESSION ? this.object(position, Kind.Cost) : this.skipValue(position, 0);
      case Field.TokenUsage:
        return this.type === TOKEN ? this.object(position, Kind.Usage) : this.skipValue(position, 0);
      case Field.TotalTokenUsage:
        return this.type === SESSION ? this.object(position, Kind.Usage) : this.skipValue(position, 0);
      case Field.Model:
        return this.type === TOKEN ? this.object(position, Kind.Model) : this.skipValue(position, 0);
      case Field.CallCount:
        if (this.type !== SESSION) break;
        this.required = true;
        return this.integer(position);
      case Field.UnpricedCallCount:
        return this.type === SESSION ? this.integer(position) : this.skipValue(position, 0);
      case Field.UsageMissingCallCount: {
        if (this.type !== SESSION) break;
        const after = this.integer(position);
        record.usageMissing = this.number;
        return after;
      }
      // Refusals and unpriced model names are read the slow way (rare, and lists of objects).
      case Field.BudgetRefusals:
      case Field.UnpricedModels:
        return this.type === SESSION ? -1 : this.skipValue(position, 0);
      case Field.AttributionTarget: {
        if (this.type !== ATTRIBUTED) break;
        const after = this.string(position);
        if (this.stringEnd > this.stringStart) this.required = true;
        return after;
      }
      case Field.InputCostUsd:
        this.parts |= HAS_INPUT;
        return this.money(position, 0);
      case Field.OutputCostUsd:
        this.parts |= HAS_OUTPUT;
        return this.money(position, 1);
      case Field.TotalCostUsd:
        this.parts |= HAS_TOTAL;
        return this.money(position, 4);
      case Field.CachedDiscountUsd:
        return this.money(position, 3);
      case Field.ReasoningCostUsd:
        return this.money(position, 2);
      case Field.Currency: {
        const currency = this.take(position, strings.currency);
        if (this.type === TOKEN) record.currency = currency;
        return this.after;
      }
      case Field.InputTokens:
        this.tokens |= HAS_INPUT;
        return this.count(position, 0);
      case Field.OutputTokens:
        this.tokens |= HAS_OUTPUT;
        return this.count(position, 1);
      case Field.TotalTokens:
        this.tokens |= HAS_TOTAL;
        return this.count(position, 2);
      case Field.CachedTokens:
        return this.count(position, 3);
      case Field.CacheCreationTokens:
        return this.count(position, 4);
      case Field.ReasoningTokens:
        return this.count(position, 5);
      case Field.Name:
        this.modelName = true;
        record.model = this.take(position, strings.model);
        return this.after;
      case Field.System:
        record.provider = this.take(position, strings.provider);
        return this.after;
    }
    return this.skipValue(position, 0);
  }

  private after = 0;

  /** A string field through its cache; sets `after` (-1 when it is not read) and returns the value. */
  private take(position: number, cache: StringCache): string | undefined {
    // The field's last value again (usually): its bytes were checked when it was first read.
    const bytes = this.bytes;
    const last = cache.lastRaw;
    if (bytes[position] === 0x22 && bytes[position + 1 + last.length] === 0x22 && equalAt(bytes, position + 1, last)) {
      this.after = position + 2 + last.length;
      return cache.lastValue;
    }
    const after = this.string(position);
    const value = after < 0 ? undefined : cache.get(bytes, this.stringStart, this.stringEnd, this.stringAscii);
    this.after = value === undefined ? -1 : after;
    return value;
  }

  private eventType(position: number): number {
    const after = this.string(position);
    if (after < 0) return -1;
    const [token, session, attributed] = TYPE_BYTES;
    this.type = this.stringIs(token) ? TOKEN : this.stringIs(session) ? SESSION : this.stringIs(attributed) ? ATTRIBUTED : undefined;
    if (this.type === undefined) return -1;
    this.envelope |= 1 << Field.EventType;
    this.record.type = this.type;
    return after;
  }

  private payload(position: number): number {
    // `event_type` sorts before `payload`: the type is known here.
    if (this.type === undefined) return -1;
    this.parts = 0;
    this.tokens = 0;
    this.payloadKeys = 0;
    this.modelName = false;
    this.required = false;
    const after = this.object(position, Kind.Payload);
    if (after < 0 || this.payloadKeys === 0 || this.parts !== PARTS) return -1;
    switch (this.type) {
      case TOKEN:
        return this.tokens === PARTS && this.modelName ? after : -1;
      case SESSION:
        return this.tokens === PARTS && this.required ? after : -1;
      default:
        return this.required ? after : -1;
    }
  }

  /** `pricing_tier`, not read: skipped, or passed by one comparison when it is the last line's (checked then). */
  private tier(position: number): number {
    const bytes = this.bytes;
    const last = this.lastTier;
    // No match can run past the line's newline (the tier's bytes hold none), only past the buffer's end.
    const end = position + last.length;
    if (last.length > 0 && end <= bytes.length && bytes.compare(last, 0, last.length, position, end) === 0) return end;
    const after = this.skipValue(position, 0);
    if (after > position && bytes[position] === 0x7b) this.lastTier = copyOf(bytes, position, after);
    return after;
  }

  private tags(position: number): number {
    const bytes = this.bytes;
    // The same tags as the last line (the usual case): their keys are known, and their bytes were checked.
    const last = this.lastTags;
    if (last.length > 0 && equalAt(bytes, position, last)) {
      this.record.tagKeys = this.lastTagKeys;
      return position + last.length;
    }
    this.tagKeys.length = 0;
    const after = this.object(position, Kind.Tags);
    if (after < 0) return -1;
    const keys = this.tagKeys.length === 0 ? NONE_KEYS : [...this.tagKeys];
    this.lastTags = copyOf(bytes, position, after);
    this.lastTagKeys = keys;
    this.record.tagKeys = keys;
    return after;
  }

  private tag(start: number, end: number, position: number): number {
    // Object.entries lists integer-like keys first, whatever the text's order: read those the slow way.
    const first = this.bytes[start] as number;
    if (first >= 0x30 && first <= 0x39) return -1;
    const after = this.string(position);
    if (after < 0) return -1;
    this.tagKeys.push(`${this.bytes.toString('latin1', start, end)}=${this.stringValue()}`);
    return after;
  }

  /** `"YYYY-MM-DDTHH:MM:SS.ffffffZ"`, as the SDK's pattern wants it. */
  private timestamp(position: number): number {
    const bytes = this.bytes;
    if (!isTimestampAt(bytes, position)) return -1;
    this.envelope |= 1 << Field.Timestamp;
    const record = this.record;
    record.timestamp = this.strings.timestamp.get(bytes, position + 1, position + 28, true) as string;
    record.day = this.strings.day.get(bytes, position + 1, position + 11, true) as string;
    return position + 29;
  }

  /** A token count into the record's `index`th count. */
  private count(position: number, index: number): number {
    const after = this.integer(position);
    // A session's totals are checked, not kept.
    if (this.type !== TOKEN) return after;
    const record = this.record;
    const value = this.number;
    if (index === 0) record.inputTokens = value;
    else if (index === 1) record.outputTokens = value;
    else if (index === 2) record.totalTokens = value;
    else if (index === 3) record.cacheReadTokens = value;
    else if (index === 4) record.cacheWriteTokens = value;
    else record.reasoningTokens = value;
    return after;
  }

  /**
   * A wire amount in exact pico-USD into the record's `part` (0 input, 1 output, 2 reasoning,
   * 3 cached discount, 4 none: the total is checked, not kept). Only amounts under $1000
   * with at most 12 decimals are read, where the digits are what `wireToPico` gives.
   */
  private money(position: number, part: number): number {
    const after = this.pico(position);
    // Money of session and attributed events is checked, not kept.
    if (after < 0 || this.type !== TOKEN) return after;
    const pico = this.number;
    const record = this.record;
    if (part === 0) record.input = pico;
    else if (part === 1) record.output = pico;
    else if (part === 2) record.reasoning = pico;
    else if (part === 3) record.cachedDiscount = pico;
    return after;
  }
}
