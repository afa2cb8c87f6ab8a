import { SpanStatusCode } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { picoToUsd, type PicoUsd } from '@costspan/core';
import type { CostBreakdownPico, PricingTier, TokenUsage } from '@costspan/pricing';
import type { Principal } from '../budget-gate.js';
import type { PricedCall } from '../processing/call-pricing.js';
import { ATTR } from '../attributes.js';
import {
  SCHEMA_VERSION,
  canonicalJson,
  createEventIdGenerator,
  formatEventTimestamp,
  markCanonical,
  type CostEvent,
} from './cost-event.js';
import { totalCost, type CostTotals } from '../processing/cost-totals.js';
import type { EventPipeline } from '../export/event-pipeline.js';
import type { CostEventListener } from '../export/event-exporter.js';
import type { EventSigner } from './event-signer.js';
import { reportError } from '../report-error.js';
import { ResourceSource } from '../processing/resource-source.js';
import type { SpanNode } from '../processing/span-tree.js';

/** An emitted event, as much of it as later events of the same span need. */
export interface WrittenEvent {
  readonly eventId: string;
  /** Its envelope: an attributed event of a late span reuses it. */
  readonly envelope: EnvelopeFragments;
}

/**
 * Writes the processor's cost events as canonical JSONL text (the encoder below) and hands the
 * lines to the pipeline. Event objects are made only for listeners and signing.
 */
export class CostEventWriter {
  private readonly nextEventId = createEventIdGenerator();
  private readonly resourceSource = new ResourceSource();
  private readonly configuredSourceJson: string | undefined;
  private lastSource = '';
  private lastSourceJson = '""';
  private readonly modelFragments = new Map<string, Map<string, string>>();
  private modelFragmentCount = 0;
  /** How an event's pieces become its line: see `concatenatedLine`. */
  private readonly lineOf: typeof flatLine;

  constructor(
    private readonly pipeline: EventPipeline,
    private readonly listeners: readonly CostEventListener[],
    private readonly signer: EventSigner | undefined,
    configuredSource: string | undefined,
  ) {
    this.configuredSourceJson = configuredSource === undefined ? undefined : JSON.stringify(configuredSource);
    this.lineOf = pipeline.encodesOnArrival ? concatenatedLine : flatLine;
  }

  /** Emits the `llm.cost.token.recorded` event of one call. */
  tokenEvent(span: ReadableSpan, node: SpanNode | undefined, priced: PricedCall): WrittenEvent {
    const { call } = priced;
    const run = node?.run;
    let head = '{';
    if (run !== undefined) {
      head = run.tokenPayloadHead ??= `{"agent_name":${JSON.stringify(run.name)},"agent_run_id":${JSON.stringify(run.runId)},`;
    }
    const parentRun = run?.parent?.run;
    const payload =
      `${head}"cost":${encodeCost(priced.cost, priced.pricingDate)},"latency_ms":${latencyMs(span)},"model":${this.modelJson(call)}` +
      (parentRun === undefined ? '' : `,"parent_run_id":${JSON.stringify(parentRun.runId)}`) +
      `,"pricing_status":"${priced.status}"` +
      (priced.tier === undefined ? '' : `,"pricing_tier":${encodeTier(priced.tier)}`) +
      (node === undefined ? '' : `,"scope":${JSON.stringify(node.scope)}`) +
      (call.serviceTier === undefined ? '' : `,"service_tier":${JSON.stringify(call.serviceTier)}`) +
      `,"span_id":"${span.spanContext().spanId}"` +
      (span.status.code === SpanStatusCode.ERROR ? ',"status":"error"' : '') +
      `,"token_usage":${encodeCallUsage(call.usage, call.totalTokens)}}`;
    const envelope = this.envelope(span, node);
    const eventId = this.nextEventId();
    this.emit(this.lineOf(envelope, eventId, 'llm.cost.token.recorded', payload));
    return { eventId, envelope };
  }

  /** `{"name":…[,"response_model":…],"system":…}` of a call, written once per model, response model and provider. */
  private modelJson(call: PricedCall['call']): string {
    const provider = call.provider ?? 'unknown';
    const responseModel = call.responseModel !== undefined && call.responseModel !== call.model ? call.responseModel : '';
    let byProvider = this.modelFragments.get(call.model);
    if (byProvider === undefined) {
      byProvider = new Map();
      this.modelFragments.set(call.model, byProvider);
    }
    const key = responseModel === '' ? provider : `${provider}\u0000${responseModel}`;
    let json = byProvider.get(key);
    if (json === undefined) {
      const response = responseModel === '' ? '' : `,"response_model":${JSON.stringify(responseModel)}`;
      json = `{"name":${JSON.stringify(call.model)}${response},"system":${JSON.stringify(provider)}}`;
      // Bounded: names come from code and providers, but a runaway set of them must not grow the heap.
      if (this.modelFragmentCount < 10_000) {
        byProvider.set(key, json);
        this.modelFragmentCount += 1;
      }
    }
    return json;
  }

  /** Emits the session event of a root run, then one attributed event per principal target. */
  sessionEvents(span: ReadableSpan, root: SpanNode): void {
    const totals = root.inclusive;
    const record = root.rootRecord;
    let payload = `{"agent_name":${JSON.stringify(root.name)},"agent_run_id":${JSON.stringify(root.runId)}`;
    if (record !== undefined && record.budgetRefusals.length > 0) payload += `,"budget_refusals":${canonicalJson(record.budgetRefusals)}`;
    payload += `,"call_count":${totals.callCount},"models_used":${JSON.stringify([...(record?.models ?? [])].sort())}`;
    payload += `,"session_duration_ms":${latencyMs(span)}`;
    if (span.status.code === SpanStatusCode.ERROR) payload += ',"status":"error"';
    payload += `,"total_cost":${encodeCost(totals)},"total_token_usage":${encodeTokenUsage(totals)}`;
    if (totals.unpricedCallCount > 0) payload += `,"unpriced_call_count":${totals.unpricedCallCount}`;
    if (record !== undefined && record.unpricedModels.size > 0)
      payload += `,"unpriced_models":${JSON.stringify([...record.unpricedModels].sort())}`;
    if (totals.usageMissingCallCount > 0) payload += `,"usage_missing_call_count":${totals.usageMissingCallCount}`;
    payload += '}';
    const envelope = this.envelope(span, root);
    this.emit(this.lineOf(envelope, this.nextEventId(), 'llm.cost.session.recorded', payload));
    for (const [target, attribution] of record?.attribution ?? []) {
      this.attributedEvent(envelope, root, target, attribution, false);
    }
  }

  /** Emits an `llm.cost.attributed` event in `envelope` (its basis event's). */
  attributedEvent(
    envelope: EnvelopeFragments,
    root: SpanNode,
    target: string,
    attribution: { totals: CostTotals; eventIds: string[] },
    late: boolean,
  ): void {
    const payload =
      `{"agent_run_id":${JSON.stringify(root.runId)},"attribution_target":${JSON.stringify(target)},"attribution_type":"direct"` +
      `,"cost":${encodeCost(attribution.totals)}${late ? ',"late":true' : ''},"source_event_ids":${eventIdsJson(attribution.eventIds)}}`;
    this.emit(this.lineOf(envelope, this.nextEventId(), 'llm.cost.attributed', payload));
  }

  /** The envelope of `span`'s events: the principal and session id of its run when it is tracked, else its own. */
  private envelope(span: ReadableSpan, node: SpanNode | undefined): EnvelopeFragments {
    const spanContext = span.spanContext();
    return envelopeFragments({
      principal: node === undefined ? NO_PRINCIPAL : principalOfNode(node),
      parentSpanId: span.parentSpanContext?.spanId,
      sessionId: node?.sessionId ?? ownSessionId(span),
      sourceJson: this.configuredSourceJson ?? this.sourceJson(span),
      spanId: spanContext.spanId,
      traceId: spanContext.traceId,
      timestamp: formatEventTimestamp(span.endTime),
    });
  }

  private sourceJson(span: ReadableSpan): string {
    const source = this.resourceSource.source(span.resource);
    if (source !== this.lastSource) {
      this.lastSource = source;
      this.lastSourceJson = JSON.stringify(source);
    }
    return this.lastSourceJson;
  }

  private emit(line: string): void {
    if (this.signer === undefined && this.listeners.length === 0) {
      this.pipeline.emit(line);
      return;
    }
    // Listeners and the signer take objects: the line parses back to the event, keys in order.
    let event = JSON.parse(line) as CostEvent;
    markCanonical(event);
    if (this.signer !== undefined) {
      try {
        event = this.signer.sign(event);
      } catch (error) {
        // Emitted unsigned: `costspan verify` then shows the gap in the chain.
        reportError(error);
      }
    }
    for (const listener of this.listeners) {
      try {
        listener.onEvent(event);
      } catch (error) {
        reportError(error);
      }
    }
    this.pipeline.emit(this.signer === undefined ? line : event);
  }
}

/** The span's own `session.id`, for a span outside any tracked run. */
function ownSessionId(span: ReadableSpan): string | undefined {
  const sessionId = span.attributes[ATTR.SESSION_ID];
  return typeof sessionId === 'string' ? sessionId : undefined;
}

/**
 * `JSON.stringify(ids)` for this writer's event ids, 3-4x faster: they come from
 * `createEventIdGenerator`, Crockford base32, so no character needs escaping.
 */
function eventIdsJson(ids: readonly string[]): string {
  return ids.length === 0 ? '[]' : `["${ids.join('","')}"]`;
}

/** The call's duration: its span's, in ms to the microsecond. */
export function latencyMs(span: ReadableSpan): number {
  return Math.round(hrTimeToMilliseconds(span.duration) * 1000) / 1000;
}

/**
 * Writes cost events straight to their canonical JSONL text: keys in sorted order, no whitespace,
 * optional fields only when present, numbers as `JSON.stringify` prints them. The constant parts
 * of an event (principal, source, a tier's JSON) are escaped once and reused, so an event costs a
 * few string concatenations and no object. The text equals `canonicalJson` of the event object
 * (a randomized test holds the two against each other).
 */

/** The envelope of one span's events, as three fragments around `event_id`/`event_type` and the payload. */
export interface EnvelopeFragments {
  /** `"actor_id":"…",` or empty. */
  readonly head: string;
  /** `,"org_id":"…","parent_span_id":"…"`, each only when present. */
  readonly middle: string;
  /** `,"schema_version":"2.0",…,"trace_id":"…"}`: everything after the payload. */
  readonly tail: string;
}

/** What of a principal goes on the envelope, escaped once per run (`SpanNode.principalFragments`). */
export interface PrincipalFragments {
  readonly head: string;
  readonly org: string;
  readonly tags: string;
  readonly team: string;
}

/** The envelope fragments of `principal`. */
function principalFragmentsOf(principal: Principal): PrincipalFragments {
  const tags = principal.tags;
  return {
    head: principal.userId === undefined ? '' : `"actor_id":${JSON.stringify(principal.userId)},`,
    org: principal.orgId === undefined ? '' : `,"org_id":${JSON.stringify(principal.orgId)}`,
    tags: tags !== undefined && Object.keys(tags).length > 0 ? `,"tags":${canonicalJson(tags)}` : '',
    team: principal.teamId === undefined ? '' : `,"team_id":${JSON.stringify(principal.teamId)}`,
  };
}

const NO_PRINCIPAL: PrincipalFragments = principalFragmentsOf({});

/**
 * The principal fragments of a tracked span's events, kept on its run: every span of a run shares
 * the run's principal object. Not a `WeakMap` keyed by the principal: V8's young-generation
 * collector keeps the values of such entries alive, and each run's principal is a new object, so
 * a run's fragments would be copied and promoted by collections long after the run ended.
 */
function principalOfNode(node: SpanNode): PrincipalFragments {
  const run = node.run;
  if (node.principal !== run.principal) return principalFragmentsOf(node.principal);
  return (run.principalFragments ??= principalFragmentsOf(run.principal));
}

/** The envelope inputs of one span. */
interface EnvelopeInput {
  principal: PrincipalFragments;
  parentSpanId: string | undefined;
  sessionId: string | undefined;
  /** `JSON.stringify(source)`. */
  sourceJson: string;
  spanId: string;
  traceId: string;
  /** The envelope timestamp (`formatEventTimestamp`). */
  timestamp: string;
}

/** Builds the envelope fragments of a span's events. */
function envelopeFragments(input: EnvelopeInput): EnvelopeFragments {
  const principal = input.principal;
  const middle = input.parentSpanId === undefined ? principal.org : `${principal.org},"parent_span_id":"${input.parentSpanId}"`;
  const session = input.sessionId === undefined ? '' : `,"session_id":${JSON.stringify(input.sessionId)}`;
  const tail =
    `,"schema_version":"${SCHEMA_VERSION}"${session},"source":${input.sourceJson},"span_id":"${input.spanId}"` +
    `${principal.tags}${principal.team},"timestamp":"${input.timestamp}","trace_id":"${input.traceId}"}`;
  return { head: principal.head, middle, tail };
}

/** One event line (no newline), as one flat string. `payload` is the payload's canonical JSON. */
function flatLine(envelope: EnvelopeFragments, eventId: string, eventType: string, payload: string): string {
  // One join: a flat string. Concatenation would leave a tree of pieces (a V8 cons string) that a
  // queue of strings (pipelines with an exporter that takes events) holds and the garbage collector
  // traces until the batch parses it: the OTLP event path measured about 12 % slower that way.
  return [
    '{',
    envelope.head,
    '"event_id":"',
    eventId,
    '","event_type":"',
    eventType,
    '"',
    envelope.middle,
    ',"payload":',
    payload,
    envelope.tail,
  ].join('');
}

/**
 * The same line as {@link flatLine}, concatenated: for a pipeline that copies each line out as
 * UTF-8 at once, whose copy flattens the pieces in the same pass (a join first would copy the
 * line twice; about 0.25 µs an event).
 */
function concatenatedLine(envelope: EnvelopeFragments, eventId: string, eventType: string, payload: string): string {
  return (
    '{' +
    envelope.head +
    '"event_id":"' +
    eventId +
    '","event_type":"' +
    eventType +
    '"' +
    envelope.middle +
    ',"payload":' +
    payload +
    envelope.tail
  );
}

/** `CostBreakdown` as canonical JSON; optional parts only when non-zero. */
function encodeCost(cost: CostBreakdownPico | CostTotals, pricingDate?: string): string {
  const discount = cost.cachedDiscount === 0n ? '' : `"cached_discount_usd":${usd(cost.cachedDiscount)},`;
  const date = pricingDate === undefined ? '' : `,"pricing_date":${JSON.stringify(pricingDate)}`;
  const reasoning = cost.reasoning === 0n ? '' : `,"reasoning_cost_usd":${usd(cost.reasoning)}`;
  return `{${discount}"input_cost_usd":${usd(cost.input)},"output_cost_usd":${usd(cost.output)}${date}${reasoning},"total_cost_usd":${usd(totalCost(cost))}}`;
}

/** `TokenUsage` as canonical JSON; optional buckets only when non-zero. */
function encodeTokenUsage(
  usage: Pick<CostTotals, 'inputTokens' | 'outputTokens' | 'totalTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'reasoningTokens'>,
): string {
  const creation = usage.cacheWriteTokens > 0 ? `"cache_creation_tokens":${usage.cacheWriteTokens},` : '';
  const cached = usage.cacheReadTokens > 0 ? `"cached_tokens":${usage.cacheReadTokens},` : '';
  const reasoning = usage.reasoningTokens > 0 ? `,"reasoning_tokens":${usage.reasoningTokens}` : '';
  return `{${creation}${cached}"input_tokens":${usage.inputTokens},"output_tokens":${usage.outputTokens}${reasoning},"total_tokens":${usage.totalTokens}}`;
}

/** A call's `TokenUsage` as canonical JSON, from its usage as recorded (no totals object in between). */
function encodeCallUsage(usage: TokenUsage, totalTokens: number): string {
  const cacheWrite = usage.cacheWrite ?? 0;
  const cacheRead = usage.cacheRead ?? 0;
  const reasoning = usage.reasoning ?? 0;
  return (
    `{${cacheWrite > 0 ? `"cache_creation_tokens":${cacheWrite},` : ''}${cacheRead > 0 ? `"cached_tokens":${cacheRead},` : ''}` +
    `"input_tokens":${usage.input},"output_tokens":${usage.output}${reasoning > 0 ? `,"reasoning_tokens":${reasoning}` : ''},"total_tokens":${totalTokens}}`
  );
}

// Price sources hand out the same tier object for every call of a model: its JSON is written once.
const tierJson = new WeakMap<PricingTier, string>();

/** A pricing tier as canonical JSON, cached per tier object. */
function encodeTier(tier: PricingTier): string {
  let json = tierJson.get(tier);
  if (json === undefined) {
    json = canonicalJson(tier);
    tierJson.set(tier, json);
  }
  return json;
}

function usd(amount: PicoUsd): string {
  // String(number) is what JSON.stringify prints for every finite number.
  return String(picoToUsd(amount));
}
