import { SpanStatusCode } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { PricedCall } from '../processing/call-pricing.js';
import { ATTR } from '../attributes.js';
import { canonicalJson, createEventIdGenerator, formatEventTimestamp, markCanonical, type CostEvent } from './cost-event.js';
import {
  encodeCallUsage,
  encodeCost,
  encodeEvent,
  encodeTier,
  encodeTokenUsage,
  envelopeFragments,
  type EnvelopeFragments,
} from './cost-event-encoder.js';
import type { CostTotals } from '../processing/cost-totals.js';
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
 * Writes the processor's cost events as canonical JSONL text (see `cost-event-encoder.ts`) and
 * hands the lines to the pipeline. Event objects are made only for listeners and signing.
 */
export class CostEventWriter {
  private readonly nextEventId = createEventIdGenerator();
  private readonly resourceSource = new ResourceSource();
  private readonly configuredSourceJson: string | undefined;
  private lastSource = '';
  private lastSourceJson = '""';
  private readonly modelFragments = new Map<string, Map<string, string>>();
  private modelFragmentCount = 0;

  constructor(
    private readonly pipeline: EventPipeline,
    private readonly listeners: readonly CostEventListener[],
    private readonly signer: EventSigner | undefined,
    configuredSource: string | undefined,
  ) {
    this.configuredSourceJson = configuredSource === undefined ? undefined : JSON.stringify(configuredSource);
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
    this.emit(encodeEvent(envelope, eventId, 'llm.cost.token.recorded', payload));
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
    this.emit(encodeEvent(envelope, this.nextEventId(), 'llm.cost.session.recorded', payload));
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
    this.emit(encodeEvent(envelope, this.nextEventId(), 'llm.cost.attributed', payload));
  }

  /** The envelope of `span`'s events: the principal and session id of its run when it is tracked, else its own. */
  private envelope(span: ReadableSpan, node: SpanNode | undefined): EnvelopeFragments {
    const spanContext = span.spanContext();
    return envelopeFragments({
      principal: node?.principal ?? {},
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
