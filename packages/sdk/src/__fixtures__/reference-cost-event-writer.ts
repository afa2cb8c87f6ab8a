import { SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { PricingTier } from '@costspan/pricing';
import type { Principal } from '../budget-gate.js';
import type { PricedCall } from '../processing/call-pricing.js';
import { ATTR } from '../attributes.js';
import { createEventIdGenerator, formatEventTimestamp, SCHEMA_VERSION, type CostEvent, type CostEventType } from '../events/cost-event.js';
import { addCall, emptyTotals, toCostBreakdownWire, toTokenUsageWire, type CostTotals } from '../processing/cost-totals.js';
import { ResourceSource } from '../processing/resource-source.js';
import type { SpanNode } from '../processing/span-tree.js';

/**
 * The event builder the processor used before events were written as text (`cost-event-writer.ts`
 * at the time): event objects in canonical key order. Kept as the oracle of the encoder test.
 */
export class ReferenceCostEventWriter {
  readonly events: CostEvent[] = [];
  private readonly nextEventId = createEventIdGenerator();
  private readonly resourceSource = new ResourceSource();

  constructor(private readonly configuredSource: string | undefined) {}

  /** Emits the `llm.cost.token.recorded` event of one call. */
  tokenEvent(span: ReadableSpan, node: SpanNode | undefined, priced: PricedCall): CostEvent {
    const { call } = priced;
    const totals = emptyTotals();
    addCall(totals, priced.cost, call.usage, call.totalTokens, true);
    const payload = {} as CostEvent<'llm.cost.token.recorded'>['payload'];
    if (node !== undefined) {
      payload.agent_name = node.run.name;
      payload.agent_run_id = node.run.runId;
    }
    payload.cost = toCostBreakdownWire(priced.cost, priced.pricingDate);
    payload.latency_ms = Math.round(hrTimeToMilliseconds(span.duration) * 1000) / 1000;
    payload.model =
      call.responseModel !== undefined && call.responseModel !== call.model
        ? { name: call.model, response_model: call.responseModel, system: call.provider ?? 'unknown' }
        : { name: call.model, system: call.provider ?? 'unknown' };
    const parentRun = node?.run.parent?.run;
    if (parentRun !== undefined) payload.parent_run_id = parentRun.runId;
    payload.pricing_status = priced.status;
    if (priced.tier !== undefined) payload.pricing_tier = sortedTier(priced.tier);
    if (node !== undefined) payload.scope = node.scope;
    if (call.serviceTier !== undefined) payload.service_tier = call.serviceTier;
    payload.span_id = span.spanContext().spanId;
    if (span.status.code === SpanStatusCode.ERROR) payload.status = 'error';
    payload.token_usage = toTokenUsageWire(totals);
    const event = this.envelope('llm.cost.token.recorded', span, span.endTime, node, payload);
    this.emit(event);
    return event;
  }

  /** Emits the session event of a root run, then one attributed event per principal target. */
  sessionEvents(span: ReadableSpan, root: SpanNode): void {
    const totals = root.inclusive;
    const record = root.rootRecord;
    // Keys in sorted order (the fast path); the optional ones only when non-zero.
    const payload = { agent_name: root.name, agent_run_id: root.runId } as CostEvent<'llm.cost.session.recorded'>['payload'];
    if (record !== undefined && record.budgetRefusals.length > 0) payload.budget_refusals = record.budgetRefusals;
    payload.call_count = totals.callCount;
    payload.models_used = [...(record?.models ?? [])].sort();
    payload.session_duration_ms = Math.round(hrTimeToMilliseconds(span.duration) * 1000) / 1000;
    if (span.status.code === SpanStatusCode.ERROR) payload.status = 'error';
    payload.total_cost = toCostBreakdownWire(totals);
    payload.total_token_usage = toTokenUsageWire(totals);
    if (totals.unpricedCallCount > 0) payload.unpriced_call_count = totals.unpricedCallCount;
    if (record !== undefined && record.unpricedModels.size > 0) payload.unpriced_models = [...record.unpricedModels].sort();
    if (totals.usageMissingCallCount > 0) payload.usage_missing_call_count = totals.usageMissingCallCount;
    const session = this.envelope('llm.cost.session.recorded', span, span.endTime, root, payload);
    this.emit(session);
    for (const [target, attribution] of record?.attribution ?? []) {
      this.attributedEvent(session, root, target, attribution, false);
    }
  }

  /** Emits an `llm.cost.attributed` event with the envelope of `basis`. */
  attributedEvent(
    basis: CostEvent,
    root: SpanNode,
    target: string,
    attribution: { totals: CostTotals; eventIds: string[] },
    late: boolean,
  ): void {
    const payload: CostEvent<'llm.cost.attributed'>['payload'] = {
      agent_run_id: root.runId,
      attribution_target: target,
      attribution_type: 'direct',
      cost: toCostBreakdownWire(attribution.totals),
    };
    if (late) payload.late = true;
    payload.source_event_ids = attribution.eventIds;
    // Same envelope as its basis, keys kept in order.
    const event = {} as CostEvent<'llm.cost.attributed'>;
    for (const key in basis) {
      const value = basis[key];
      if (key === 'event_id') event.event_id = this.nextEventId();
      else if (key === 'event_type') event.event_type = 'llm.cost.attributed';
      else if (key === 'payload') event.payload = payload;
      else event[key] = value;
    }
    this.emit(event);
  }

  /** Builds an envelope with its keys in sorted order, so serialising it takes the native fast path. */
  private envelope<Type extends CostEventType>(
    type: Type,
    span: ReadableSpan,
    time: HrTime,
    node: SpanNode | undefined,
    payload: CostEvent<Type>['payload'],
  ): CostEvent<Type> {
    const spanContext = span.spanContext();
    const principal: Principal = node?.principal ?? {};
    const event = {} as CostEvent<Type>;
    if (principal.userId !== undefined) event.actor_id = principal.userId;
    event.event_id = this.nextEventId();
    event.event_type = type;
    if (principal.orgId !== undefined) event.org_id = principal.orgId;
    const parentSpanId = span.parentSpanContext?.spanId;
    if (parentSpanId !== undefined) event.parent_span_id = parentSpanId;
    event.payload = payload;
    event.schema_version = SCHEMA_VERSION;
    // The run's session id on every event of its tree; a span outside any run keeps its own.
    const ownSessionId = span.attributes[ATTR.SESSION_ID];
    const sessionId = node?.sessionId ?? (typeof ownSessionId === 'string' ? ownSessionId : undefined);
    if (sessionId !== undefined) event.session_id = sessionId;
    event.source = this.configuredSource ?? this.resourceSource.source(span.resource);
    event.span_id = spanContext.spanId;
    if (principal.tags !== undefined && Object.keys(principal.tags).length > 0) event.tags = principal.tags;
    if (principal.teamId !== undefined) event.team_id = principal.teamId;
    event.timestamp = formatEventTimestamp(time);
    event.trace_id = spanContext.traceId;
    return event;
  }

  private emit(event: CostEvent): void {
    this.events.push(event);
  }
}

// Price sources hand out the same tier object for every call of a model; sort its keys once
// so the event stays in canonical order and serialises on the fast path.
const sortedTiers = new WeakMap<PricingTier, PricingTier>();
function sortedTier(tier: PricingTier): PricingTier {
  let sorted = sortedTiers.get(tier);
  if (sorted === undefined) {
    sorted = {} as PricingTier;
    for (const key of Object.keys(tier).sort())
      (sorted as unknown as Record<string, unknown>)[key] = (tier as unknown as Record<string, unknown>)[key];
    sortedTiers.set(tier, sorted);
  }
  return sorted;
}
