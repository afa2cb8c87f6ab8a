import type { CostEventType } from '@costspan/sdk';
import { setCostPart, setCount, totalDiffers, type EventRecord } from './event-record.js';
import { ENVELOPE, Field, KEY_BYTES, Kind, lookupKey, MAX_ORDINALS } from './canonical-keys.js';
import { QUOTED_TYPES, UNREAD_BITS, type UnreadField } from './canonical-keys.js';
import { copyOf, equalAt, isHexAt, isTimestampAt, isUlidAt, JsonSkipper } from './json-skip.js';
import { StringCache } from './string-cache.js';
import { NONE_KEYS, TagsReader } from './canonical-tags.js';

/*
 * The report's fast path: reads a canonical event line (what the SDK's encoder writes: sorted
 * keys, no whitespace; docs/wire-format.md) from its bytes straight into an EventRecord. It
 * accepts a line only when JSON.parse and the SDK's validateCostEvent would accept it and give
 * the same record; anything else (whitespace, escapes in a string it reads, a number it cannot
 * convert exactly, an unexpected type, a session with refusals, a repeated known key, ...)
 * returns false and takes the slow path, so odd input behaves as before. Every byte is checked
 * as JSON, skipped values too. Tests hold it equal to the slow path over randomized lines.
 */

// The SDK's source pattern (events/cost-event-validation.ts); its other patterns are checked by hand (json-skip.ts).
const SOURCE_PATTERN = /^@?[A-Za-z0-9][A-Za-z0-9._/-]*@\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const TOKEN: CostEventType = 'llm.cost.token.recorded';
const SESSION: CostEventType = 'llm.cost.session.recorded';
const ATTRIBUTED: CostEventType = 'llm.cost.attributed';
const ascii = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const SCHEMA_BYTES = ascii('2.0');
const UNPRICED = ascii('unpriced');

// Bits of what an object had; a line is accepted only with all the bits its type requires.
const HAS_INPUT = 1;
const HAS_OUTPUT = 2;
const HAS_TOTAL = 4;
const PARTS = HAS_INPUT | HAS_OUTPUT | HAS_TOTAL;

/** Reads canonical lines into one reused record; see the comment at the top. */
export class CanonicalLineReader extends JsonSkipper {
  /** The record of the last line read; valid until the next call. */
  readonly record: EventRecord;
  /** Offset of the last line's `event_id` (26 ULID characters) in its bytes. */
  idOffset = 0;
  private type: CostEventType | undefined;
  private envelope = 0;
  private parts = 0;
  /** Token events: `total_cost_usd` in pico-USD, held against the parts (`totalMismatch`). */
  private total = 0;
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
  private readonly tags = new TagsReader();
  /** Per kind and ordinal, the field of the key the last line had there. */
  private readonly expected = new Int32Array(6 * MAX_ORDINALS).fill(Field.Unknown);
  private readonly tiers: Uint8Array[] = [];
  /** Fields skipped, as {@link UNREAD_BITS}. */
  private readonly unread: number;

  /** @param unread fields left undefined in every record (see {@link UnreadField}) */
  constructor(record: EventRecord, unread: readonly UnreadField[] = []) {
    super();
    this.record = record;
    this.unread = unread.reduce((bits, field) => bits | UNREAD_BITS[field], 0);
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
    record.usageMissing = record.sessionCalls = 0;
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
        if ((this.unread & UNREAD_BITS.orgId) !== 0) break;
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
      case Field.Tags: {
        if ((this.unread & UNREAD_BITS.tagKeys) !== 0) break;
        const after = this.tags.read(this.bytes, position);
        record.tagKeys = this.tags.keys;
        return after;
      }
      case Field.TeamId:
        if ((this.unread & UNREAD_BITS.teamId) !== 0) break;
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
        if (this.type !== TOKEN || (this.unread & UNREAD_BITS.scope) !== 0) break;
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
      case Field.UnpricedCallCount:
        return this.type === SESSION ? this.integer(position) : this.skipValue(position, 0);
      case Field.CallCount:
      case Field.UsageMissingCallCount: {
        if (this.type !== SESSION) break;
        const after = this.integer(position);
        if (field === Field.UsageMissingCallCount) record.usageMissing = this.number;
        else [this.required, record.sessionCalls] = [true, this.number];
        return after;
      }
      // Refusals and unpriced model names are read the slow way (rare, and lists of objects).
      case Field.BudgetRefusals:
      case Field.UnpricedModels:
        return this.type === SESSION ? -1 : this.skipValue(position, 0);
      case Field.ServiceTier: {
        // The SDK's validation: a token event's `service_tier`, when present, is a non-empty string.
        if (this.type !== TOKEN) break;
        const after = this.string(position);
        return after >= 0 && this.stringEnd > this.stringStart ? after : -1;
      }
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
        if ((this.unread & UNREAD_BITS.provider) !== 0) break;
        record.provider = this.take(position, strings.provider);
        return this.after;
    }
    return this.skipValue(position, 0);
  }

  private after = 0;

  /** A string field through its cache; sets `after` (-1 when it is not read) and returns the value. */
  private take(position: number, cache: StringCache): string | undefined {
    // One of the field's last values again (usually): its bytes were checked when it was first read.
    const bytes = this.bytes;
    const known = cache.match(bytes, position);
    if (known !== undefined) {
      this.after = position + 2 + known.raw.length;
      return known.value;
    }
    const after = this.string(position);
    const value = after < 0 ? undefined : cache.get(bytes, this.stringStart, this.stringEnd, this.stringAscii);
    this.after = value === undefined ? -1 : after;
    return value;
  }

  private eventType(position: number): number {
    // The types differ at their tenth character (`llm.cost.t`, `.s`, `.a`): one comparison of the quoted type.
    const which = this.bytes[position + 10];
    const type = which === 0x74 ? TOKEN : which === 0x73 ? SESSION : which === 0x61 ? ATTRIBUTED : undefined;
    if (type === undefined) return -1;
    const quoted = QUOTED_TYPES[type];
    if (!equalAt(this.bytes, position, quoted)) return -1;
    this.type = type;
    this.envelope |= 1 << Field.EventType;
    this.record.type = type;
    return position + quoted.length;
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
    this.record.totalMismatch = this.type === TOKEN && totalDiffers(this.record, this.total);
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
    // One of the last few tiers (one a model): passed by one comparison. No match can run past the
    // line's newline (a tier's bytes hold none), only past the buffer's end.
    const tiers = this.tiers;
    for (let index = 0; index < tiers.length; index += 1) {
      const tier = tiers[index] as Uint8Array;
      const end = position + tier.length;
      if (
        end <= bytes.length &&
        bytes[end - 1] === 0x7d &&
        bytes[position + 2] === tier[2] &&
        bytes.compare(tier, 0, tier.length, position, end) === 0
      ) {
        return end;
      }
    }
    const after = this.skipValue(position, 0);
    if (after > position && bytes[position] === 0x7b) {
      if (tiers.length >= 8) tiers.pop();
      tiers.unshift(copyOf(bytes, position, after));
    }
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

  /** A token count into the record's `index`th count (see {@link setCount}); a session's totals are checked, not kept. */
  private count(position: number, index: number): number {
    const after = this.integer(position);
    if (after >= 0 && this.type === TOKEN) setCount(this.record, index, this.number);
    return after;
  }

  /** A wire amount in exact pico-USD (see `JsonSkipper.pico`) into the record's `part` ({@link setCostPart}). */
  private money(position: number, part: number): number {
    const after = this.pico(position);
    // Money of session and attributed events is checked, not kept.
    if (after >= 0 && this.type === TOKEN) setCostPart(this.record, part, this.number);
    if (part === 4) this.total = this.number;
    return after;
  }
}
