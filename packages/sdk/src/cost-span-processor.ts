import { diag, SpanStatusCode, type Attributes, type Context, type HrTime } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { picoToUsd, usdToPico } from '@costspan/core';
import { costFromTotal, type CostBreakdownPico, type PriceRequest, type PriceSource, type PricingTier } from '@costspan/pricing';
import { ATTR, INCLUSIVE_PREFIX, INVOKE_AGENT, OWN_PREFIX } from './attributes.js';
import type { BudgetGate, BudgetReservation, Principal } from './budget-gate.js';
import {
  createEventIdGenerator,
  formatEventTimestamp,
  markCanonical,
  validateSource,
  SCHEMA_VERSION,
  type CostEvent,
  type CostEventType,
  type PricingStatus,
} from './cost-event.js';
import {
  addCall,
  addTotals,
  emptyTotals,
  toCostBreakdownWire,
  toTokenUsageWire,
  totalCost,
  totalsToAttributes,
  type CostTotals,
} from './cost-totals.js';
import { EventPipeline, type EventPipelineOptions, type EventPipelineStats } from './event-pipeline.js';
import type { CostEventListener, EventExporter } from './event-exporter.js';
import { EventSigner } from './event-signer.js';
import { attributionTargets, mergePrincipals, principalFromAttributes } from './principal.js';
import { reportError } from './report-error.js';
import { runStates, stepStates, type RecordedCall, type StepState } from './span-state.js';

/** Options of {@link CostSpanProcessor}. */
export interface CostSpanProcessorOptions extends EventPipelineOptions {
  /** Where cost events go (through a bounded, counted queue). Default: none. */
  exporters?: EventExporter[];
  /** Receive every cost event synchronously as it is emitted (e.g. a {@link CostTracker}). */
  listeners?: CostEventListener[];
  /**
   * Event `source` as `name@semver`. Default: the span resource's
   * `service.name@service.version` (`OTEL_SERVICE_NAME` sets the name), version `0.0.0` when unset.
   */
  source?: string;
  /**
   * Prices calls that carry usage but no cost. Default: none, so only costs
   * given by the caller or provider count and the rest are marked unpriced.
   */
  priceSource?: PriceSource;
  /**
   * Spans tracked at once. Past it the oldest is forgotten (counted, reported
   * through `diag`) so spans that never end cannot leak memory. Default 100000.
   */
  maxOpenSpans?: number;
  /**
   * Signs every event into a tamper-evident chain (`checksum`, `signature`,
   * `prev_id`; see {@link EventSigner}). Default: the `COSTSPAN_SIGNING_KEY`
   * environment variable; unsigned when neither is set.
   */
  signingKey?: string | Uint8Array;
}

/** Counters of a {@link CostSpanProcessor}; nothing is dropped silently. */
export interface CostSpanProcessorStats extends EventPipelineStats {
  /** Spans tracked now (open, or ended with open children). */
  openSpans: number;
  /** Spans forgotten because `maxOpenSpans` was reached. */
  evictedSpans: number;
  /** Spans that ended after their parent; their cost is in token and late attributed events. */
  lateSpans: number;
  /** Model calls that could not be priced (cost 0, marked unpriced). */
  unpricedCalls: number;
  /**
   * Calls seen twice and counted once: another instrumentation's span inside a costspan
   * step that recorded the same call itself.
   */
  duplicateCalls: number;
}

interface PricedCall {
  call: RecordedCall;
  cost: CostBreakdownPico;
  status: PricingStatus;
  tier: PricingTier | undefined;
  pricingDate: string | undefined;
}

interface DeferredCalls {
  span: ReadableSpan;
  node: SpanNode;
  calls: PricedCall[];
}

interface Attribution {
  totals: CostTotals;
  eventIds: string[];
}

class SpanNode {
  readonly inclusive: CostTotals = emptyTotals();
  /** Runs only: cost of the run's own work, nested runs excluded. */
  readonly runOwn: CostTotals | undefined;
  /** Root runs only. */
  readonly attribution: Map<string, Attribution> | undefined;
  readonly models: Set<string> | undefined;
  readonly run: SpanNode;
  readonly root: SpanNode;
  openChildren = 0;
  ended = false;
  /** Attribution targets of `principal`, computed on the first call. */
  targets: string[] | undefined;
  /** costspan steps only: calls of other instrumentation's spans below, held until the step ends. */
  deferred: DeferredCalls[] | undefined;

  constructor(
    readonly spanId: string,
    readonly parent: SpanNode | undefined,
    readonly isRun: boolean,
    readonly name: string,
    readonly runId: string,
    readonly scope: string,
    readonly principal: Principal,
    /** The span: runs find their budget through it, steps their recorded calls. */
    readonly span: object,
  ) {
    this.run = isRun || parent === undefined ? this : parent.run;
    this.root = parent === undefined ? this : parent.root;
    this.runOwn = isRun ? emptyTotals() : undefined;
    if (this.root === this) {
      this.attribution = new Map();
      this.models = new Set();
    }
  }
}

const ZERO_COST: CostBreakdownPico = { input: 0n, output: 0n, reasoning: 0n, cachedDiscount: 0n };
const MAX_WARNED_MODELS = 10_000;
const logger = diag.createComponentLogger({ namespace: '@costspan/sdk' });

/**
 * A span processor that prices model calls, rolls their cost up the span tree
 * and emits cost events. Add it to your own `TracerProvider` beside your other
 * processors; it needs no global of its own.
 *
 * On every run span (`gen_ai.operation.name = invoke_agent`) it writes the
 * cost of the run's own work under `llm.cost.own.*` and of the run with all its
 * descendants under `llm.cost.inclusive.*`; each model call's cost goes on its
 * own span as `gen_ai.usage.cost.amount`. It prices spans of any
 * instrumentation that sets `gen_ai.usage.*`, not only costspan's.
 *
 * Events: one `llm.cost.token.recorded` per model call, one
 * `llm.cost.session.recorded` per root run, one `llm.cost.attributed` per
 * principal target per root run (and per late span). Nothing here throws into
 * the host application: failures go to OpenTelemetry's `globalErrorHandler`.
 *
 * @example
 * ```ts
 * const processor = new CostSpanProcessor({
 *   source: 'my-app@1.0.0',
 *   exporters: [new JsonlEventExporter({ path: 'events.jsonl' })],
 * });
 * const provider = new BasicTracerProvider({ spanProcessors: [processor] });
 * const tracer = createCostTracer({ tracerProvider: provider });
 * ```
 */
export class CostSpanProcessor implements SpanProcessor {
  private readonly nodes = new Map<string, SpanNode>();
  private readonly pipeline: EventPipeline;
  private readonly listeners: readonly CostEventListener[];
  private readonly priceSource: PriceSource | undefined;
  private readonly maxOpenSpans: number;
  private readonly nextEventId = createEventIdGenerator();
  private readonly warnedModels = new Set<string>();
  private readonly configuredSource: string | undefined;
  private resourceSource: { resource: unknown; source: string } | undefined;
  private sawOnEnding = false;
  private evictedSpans = 0;
  private lateSpans = 0;
  private unpricedCalls = 0;
  private duplicateCalls = 0;
  private readonly signer: EventSigner | undefined;

  constructor(options: CostSpanProcessorOptions = {}) {
    this.configuredSource = options.source === undefined ? undefined : validateSource(options.source);
    this.pipeline = new EventPipeline(options.exporters ?? [], options);
    this.listeners = options.listeners ?? [];
    this.priceSource = options.priceSource;
    this.maxOpenSpans = options.maxOpenSpans !== undefined && options.maxOpenSpans > 0 ? options.maxOpenSpans : 100_000;
    this.signer = options.signingKey !== undefined ? new EventSigner({ key: options.signingKey }) : EventSigner.fromEnvironment();
  }

  onStart(span: Span, _parentContext: Context): void {
    try {
      this.track(span);
    } catch (error) {
      reportError(error);
    }
  }

  onEnding(span: Span): void {
    this.sawOnEnding = true;
    try {
      this.settle(span, span);
    } catch (error) {
      reportError(error);
    }
  }

  onEnd(span: ReadableSpan): void {
    // SDKs without onEnding: the same work, minus the attributes a finished span no longer takes.
    if (this.sawOnEnding) return;
    try {
      this.settle(span, undefined);
    } catch (error) {
      reportError(error);
    }
  }

  /** Exports every queued event and waits for the exporters to flush. */
  forceFlush(): Promise<void> {
    return this.pipeline.forceFlush();
  }

  /** Flushes, then shuts the event exporters down. Idempotent. */
  shutdown(): Promise<void> {
    return this.pipeline.shutdown();
  }

  /** Counters of the processor and its event pipeline. */
  stats(): CostSpanProcessorStats {
    return {
      ...this.pipeline.stats(),
      openSpans: this.nodes.size,
      evictedSpans: this.evictedSpans,
      lateSpans: this.lateSpans,
      unpricedCalls: this.unpricedCalls,
      duplicateCalls: this.duplicateCalls,
    };
  }

  private track(span: Span): void {
    const spanContext = span.spanContext();
    const parentId = span.parentSpanContext?.spanId;
    const parent = parentId === undefined ? undefined : this.nodes.get(parentId);
    const attributes = span.attributes;
    const isRun = attributes[ATTR.OPERATION_NAME] === INVOKE_AGENT;
    if (parent === undefined && !isRun) return;

    const name = isRun ? stringAttribute(attributes, ATTR.AGENT_NAME) ?? span.name : span.name;
    const ownPrincipal = isRun ? principalFromAttributes(attributes) : undefined;
    const node = new SpanNode(
      spanContext.spanId,
      parent,
      isRun,
      name,
      isRun ? stringAttribute(attributes, ATTR.AGENT_ID) ?? spanContext.spanId : (parent?.runId ?? spanContext.spanId),
      parent === undefined ? name : `${parent.scope}/${name}`,
      ownPrincipal === undefined ? (parent?.principal ?? {}) : mergePrincipals(parent?.principal, ownPrincipal),
      span,
    );
    if (parent !== undefined) parent.openChildren += 1;
    this.nodes.set(node.spanId, node);
    if (this.nodes.size > this.maxOpenSpans) this.evictOldest();
  }

  private evictOldest(): void {
    const oldest = this.nodes.keys().next();
    if (oldest.done === true) return;
    this.nodes.delete(oldest.value);
    this.evictedSpans += 1;
    if (this.evictedSpans === 1 || this.evictedSpans % 10_000 === 0) {
      logger.warn(`more than ${this.maxOpenSpans} spans open at once; forgot the oldest (${this.evictedSpans} so far). Spans that never end are the usual cause.`);
    }
  }

  private settle(span: ReadableSpan, writable: Span | undefined): void {
    const spanContext = span.spanContext();
    const node = this.nodes.get(spanContext.spanId);
    const state = stepStates.get(span);
    const reservations = state?.reservations;
    const priced = this.priceCalls(span, state);
    const endMs = hrTimeToMilliseconds(span.endTime);

    // Another instrumentation's model-call span inside a costspan step: the step may record the
    // same call from the response (e.g. recordAnthropicUsage). Hold it; the step decides at its end.
    const step = state === undefined && priced.length > 0 && node !== undefined ? openStepAbove(node) : undefined;
    if (step !== undefined && node !== undefined) {
      (step.deferred ??= []).push({ span, node, calls: priced });
    } else if (priced.length > 0 || node?.deferred !== undefined) {
      const spanCost = emptyTotals();
      for (const call of priced) {
        addCall(spanCost, call.cost, call.call.usage, call.call.totalTokens, call.status !== 'unpriced');
        const event = this.emitTokenEvent(span, node, call);
        if (node !== undefined) this.book(node, call, event, endMs, reservations);
      }
      if (node?.deferred !== undefined) this.resolveDeferred(node, priced.length > 0, spanCost, reservations);
      if (node !== undefined) addTotals(node.inclusive, spanCost);
      if (writable !== undefined && priced.length > 0) {
        writable.setAttribute(ATTR.COST_AMOUNT, picoToUsd(totalCost(spanCost)));
        writable.setAttribute(ATTR.COST_CURRENCY, 'USD');
        writable.setAttribute(ATTR.COST_SOURCE, costSource(priced));
        writable.setAttribute(ATTR.PRICING_STATUS, pricingStatus(priced));
      }
    }
    this.releaseUnusedReservations(reservations, node);
    if (node === undefined) return;

    if (node.isRun && writable !== undefined && node.runOwn !== undefined) {
      writable.setAttributes(totalsToAttributes(OWN_PREFIX, node.runOwn));
      writable.setAttributes(totalsToAttributes(INCLUSIVE_PREFIX, node.inclusive));
    }
    const parent = node.parent;
    if (parent !== undefined) {
      // A span that outlives its parent still counts toward the nearest ancestor that is open;
      // only when the whole tree has ended does its cost live in late events alone.
      let ancestor: SpanNode | undefined = parent;
      while (ancestor?.ended === true) ancestor = ancestor.parent;
      if (ancestor !== undefined) addTotals(ancestor.inclusive, node.inclusive);
      if (parent.ended) {
        this.lateSpans += 1;
        logger.debug(`span ${node.spanId} (${node.name}) ended after its parent`);
      }
    } else if (node.isRun) {
      this.emitSessionEvents(span, node);
    }
    node.ended = true;
    this.release(node);
  }

  /**
   * At a step's end: if the step recorded calls itself, the held calls of instrumentation below
   * it are the same calls seen twice, so they are dropped (and counted); otherwise they are the
   * step's calls and are booked now, into `stepCost`.
   */
  private resolveDeferred(
    step: SpanNode,
    stepRecordedCalls: boolean,
    stepCost: CostTotals,
    reservations: BudgetReservation[] | undefined,
  ): void {
    const deferred = step.deferred ?? [];
    step.deferred = undefined;
    for (const held of deferred) {
      if (stepRecordedCalls) {
        this.duplicateCalls += held.calls.length;
        logger.debug(`dropped ${held.calls.length} call(s) of span "${held.span.name}": step "${step.name}" recorded them itself`);
        continue;
      }
      const endMs = hrTimeToMilliseconds(held.span.endTime);
      for (const call of held.calls) {
        addCall(stepCost, call.cost, call.call.usage, call.call.totalTokens, call.status !== 'unpriced');
        const event = this.emitTokenEvent(held.span, held.node, call);
        // The step's reservations settle with these calls, as they would with its own.
        this.book(held.node, call, event, endMs, reservations);
      }
    }
  }

  private release(node: SpanNode): void {
    let current: SpanNode | undefined = node;
    while (current !== undefined && current.ended && current.openChildren === 0) {
      this.nodes.delete(current.spanId);
      const parent: SpanNode | undefined = current.parent;
      if (parent !== undefined) parent.openChildren -= 1;
      current = parent;
    }
  }

  private book(
    node: SpanNode,
    call: PricedCall,
    event: CostEvent,
    endMs: number,
    reservations: BudgetReservation[] | undefined,
  ): void {
    const run = node.run;
    const root = node.root;
    const priced = call.status !== 'unpriced';
    if (!run.ended && run.runOwn !== undefined) addCall(run.runOwn, call.cost, call.call.usage, call.call.totalTokens, priced);
    const targets = (node.targets ??= attributionTargets(node.principal));
    if (!root.ended && root.attribution !== undefined) {
      root.models?.add(call.call.model);
      for (const target of targets) {
        let attribution = root.attribution.get(target);
        if (attribution === undefined) {
          attribution = { totals: emptyTotals(), eventIds: [] };
          root.attribution.set(target, attribution);
        }
        addCall(attribution.totals, call.cost, call.call.usage, call.call.totalTokens, priced);
        attribution.eventIds.push(event.event_id);
      }
    } else {
      for (const target of targets) {
        const totals = emptyTotals();
        addCall(totals, call.cost, call.call.usage, call.call.totalTokens, priced);
        this.emitAttributedEvent(event, root, target, { totals, eventIds: [event.event_id] }, true);
      }
    }
    const budget = budgetOf(node);
    if (budget !== undefined) {
      const reservation = reservations?.shift();
      try {
        budget.record({
          principal: node.principal,
          runId: run.runId,
          rootRunId: root.runId,
          agentName: run.name,
          usd: totalCost(call.cost),
          tokens: call.call.totalTokens,
          timestamp: endMs,
          ...(reservation === undefined ? {} : { reservation }),
        });
      } catch (error) {
        reportError(error);
      }
    }
  }

  private releaseUnusedReservations(reservations: BudgetReservation[] | undefined, node: SpanNode | undefined): void {
    if (reservations === undefined || reservations.length === 0) return;
    // Reservations beyond the calls made (a failed or skipped call) go back to the budget.
    const unused = reservations.splice(0);
    const budget = node === undefined ? undefined : budgetOf(node);
    if (budget === undefined) return;
    for (const reservation of unused) {
      try {
        budget.release(reservation);
      } catch (error) {
        reportError(error);
      }
    }
  }

  private priceCalls(span: ReadableSpan, state: StepState | undefined): PricedCall[] {
    let calls: RecordedCall[];
    if (state !== undefined) {
      calls = state.calls;
      const current = state.current;
      if (current.usage !== undefined || current.cost !== undefined) {
        calls = [
          ...calls,
          {
            model: current.model ?? 'unknown',
            provider: current.provider,
            responseModel: current.responseModel,
            usage: current.usage ?? { input: 0, output: 0 },
            totalTokens: current.totalTokens ?? (current.usage === undefined ? 0 : current.usage.input + current.usage.output),
            cost: current.cost,
            costSource: current.costSource,
            costTotalOnly: current.costTotalOnly,
          },
        ];
      }
    } else {
      const call = callFromAttributes(span);
      calls = call === undefined ? [] : [call];
    }
    if (calls.length === 0) return calls as never[];
    const timestamp = hrTimeToMilliseconds(span.endTime);
    return calls.map((call) => this.price(call, timestamp));
  }

  private price(call: RecordedCall, timestamp: number): PricedCall {
    if (call.cost !== undefined) {
      let cost = call.cost;
      if (call.costTotalOnly === true && this.priceSource !== undefined) {
        // A reported total: split it in the table's proportions so input/output stay meaningful.
        try {
          const table = this.priceSource.price(this.priceRequest(call, timestamp));
          if (table.status === 'priced') cost = costFromTotal(totalCost(call.cost), table.cost);
        } catch (error) {
          reportError(error);
        }
      }
      return { call, cost, status: call.costSource ?? 'caller', tier: undefined, pricingDate: undefined };
    }
    if (this.priceSource !== undefined) {
      try {
        const result = this.priceSource.price(this.priceRequest(call, timestamp));
        if (result.status === 'priced') {
          return { call, cost: result.cost, status: 'priced', tier: result.tier, pricingDate: result.pricingDate };
        }
      } catch (error) {
        reportError(error);
      }
    }
    this.unpricedCalls += 1;
    const key = `${call.provider ?? ''}/${call.model}`;
    if (!this.warnedModels.has(key) && this.warnedModels.size < MAX_WARNED_MODELS) {
      this.warnedModels.add(key);
      logger.warn(
        `no price for model "${call.model}"${call.provider === undefined ? '' : ` of provider "${call.provider}"`}: its calls cost 0 and are marked ${ATTR.PRICING_STATUS}=unpriced. Register a custom price or pass the cost.`,
      );
    }
    return { call, cost: ZERO_COST, status: 'unpriced', tier: undefined, pricingDate: undefined };
  }

  private priceRequest(call: RecordedCall, timestamp: number): PriceRequest {
    return {
      model: call.responseModel ?? call.model,
      ...(call.provider === undefined ? {} : { provider: call.provider }),
      usage: call.usage,
      timestamp,
    };
  }

  private source(span: ReadableSpan): string {
    if (this.configuredSource !== undefined) return this.configuredSource;
    const resource = span.resource;
    if (this.resourceSource?.resource === resource) return this.resourceSource.source;
    const attributes = resource.attributes;
    const name = String(attributes['service.name'] ?? 'unknown_service').replace(/[^A-Za-z0-9._/-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '') || 'unknown_service';
    const version = String(attributes['service.version'] ?? '');
    const source = `${name}@${/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.test(version) ? version : '0.0.0'}`;
    this.resourceSource = { resource, source };
    return source;
  }

  /** Builds an envelope with its keys in sorted order, so serialising it takes the native fast path. */
  private envelope<Type extends CostEventType>(
    type: Type,
    span: ReadableSpan,
    time: HrTime,
    principal: Principal,
    payload: CostEvent<Type>['payload'],
  ): CostEvent<Type> {
    const spanContext = span.spanContext();
    const event = {} as CostEvent<Type>;
    if (principal.userId !== undefined) event.actor_id = principal.userId;
    event.event_id = this.nextEventId();
    event.event_type = type;
    if (principal.orgId !== undefined) event.org_id = principal.orgId;
    const parentSpanId = span.parentSpanContext?.spanId;
    if (parentSpanId !== undefined) event.parent_span_id = parentSpanId;
    event.payload = payload;
    event.schema_version = SCHEMA_VERSION;
    const sessionId = span.attributes[ATTR.SESSION_ID];
    if (typeof sessionId === 'string') event.session_id = sessionId;
    event.source = this.source(span);
    event.span_id = spanContext.spanId;
    if (principal.tags !== undefined && Object.keys(principal.tags).length > 0) event.tags = principal.tags;
    if (principal.teamId !== undefined) event.team_id = principal.teamId;
    event.timestamp = formatEventTimestamp(time);
    event.trace_id = spanContext.traceId;
    return event;
  }

  private emitTokenEvent(span: ReadableSpan, node: SpanNode | undefined, priced: PricedCall): CostEvent {
    const { call } = priced;
    const totals = emptyTotals();
    addCall(totals, priced.cost, call.usage, call.totalTokens, true);
    const payload = {} as CostEvent<'llm.cost.token.recorded'>['payload'];
    if (node !== undefined) {
      payload.agent_name = node.run.name;
      payload.agent_run_id = node.run.runId;
    }
    payload.cost = toCostBreakdownWire(priced.cost, priced.pricingDate);
    payload.model =
      call.responseModel !== undefined && call.responseModel !== call.model
        ? { name: call.model, response_model: call.responseModel, system: call.provider ?? 'unknown' }
        : { name: call.model, system: call.provider ?? 'unknown' };
    const parentRun = node?.run.parent?.run;
    if (parentRun !== undefined) payload.parent_run_id = parentRun.runId;
    payload.pricing_status = priced.status;
    if (priced.tier !== undefined) payload.pricing_tier = sortedTier(priced.tier);
    if (node !== undefined) payload.scope = node.scope;
    payload.span_id = span.spanContext().spanId;
    if (span.status.code === SpanStatusCode.ERROR) payload.status = 'error';
    payload.token_usage = toTokenUsageWire(totals);
    const event = this.envelope('llm.cost.token.recorded', span, span.endTime, node?.principal ?? {}, payload);
    this.emit(event);
    return event;
  }

  private emitSessionEvents(span: ReadableSpan, root: SpanNode): void {
    const totals = root.inclusive;
    const payload: CostEvent<'llm.cost.session.recorded'>['payload'] = {
      agent_name: root.name,
      agent_run_id: root.runId,
      call_count: totals.callCount,
      models_used: [...(root.models ?? [])].sort(),
      session_duration_ms: Math.round(hrTimeToMilliseconds(span.duration) * 1000) / 1000,
      ...(span.status.code === SpanStatusCode.ERROR ? { status: 'error' as const } : {}),
      total_cost: toCostBreakdownWire(totals),
      total_token_usage: toTokenUsageWire(totals),
    };
    if (totals.unpricedCallCount > 0) payload.unpriced_call_count = totals.unpricedCallCount;
    const session = this.envelope('llm.cost.session.recorded', span, span.endTime, root.principal, payload);
    this.emit(session);
    for (const [target, attribution] of root.attribution ?? []) {
      this.emitAttributedEvent(session, root, target, attribution, false);
    }
  }

  private emitAttributedEvent(
    basis: CostEvent,
    root: SpanNode,
    target: string,
    attribution: Attribution,
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

  private emit(unsigned: CostEvent): void {
    let event = unsigned;
    if (this.signer === undefined) {
      markCanonical(event);
    } else {
      try {
        event = this.signer.sign(unsigned);
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
    this.pipeline.emit(event);
  }
}

function openStepAbove(node: SpanNode): SpanNode | undefined {
  for (let ancestor = node.parent; ancestor !== undefined && !ancestor.isRun; ancestor = ancestor.parent) {
    if (!ancestor.ended && stepStates.has(ancestor.span)) return ancestor;
  }
  return undefined;
}

// Price sources hand out the same tier object for every call of a model; sort its keys once
// so the event stays in canonical order and serialises on the fast path.
const sortedTiers = new WeakMap<PricingTier, PricingTier>();
function sortedTier(tier: PricingTier): PricingTier {
  let sorted = sortedTiers.get(tier);
  if (sorted === undefined) {
    sorted = {} as PricingTier;
    for (const key of Object.keys(tier).sort()) (sorted as unknown as Record<string, unknown>)[key] = (tier as unknown as Record<string, unknown>)[key];
    sortedTiers.set(tier, sorted);
  }
  return sorted;
}

// The tracer attaches a budget after the span has started, so it is looked up when needed.
function budgetOf(node: SpanNode): BudgetGate | undefined {
  let run: SpanNode | undefined = node.run;
  while (run !== undefined) {
    const budget = runStates.get(run.span)?.budget;
    if (budget !== undefined) return budget;
    run = run.parent?.run;
  }
  return undefined;
}

function callFromAttributes(span: ReadableSpan): RecordedCall | undefined {
  const attributes = span.attributes;
  const input = attributes[ATTR.USAGE_INPUT_TOKENS] ?? attributes[ATTR.USAGE_PROMPT_TOKENS];
  const output = attributes[ATTR.USAGE_OUTPUT_TOKENS] ?? attributes[ATTR.USAGE_COMPLETION_TOKENS];
  if (input === undefined && output === undefined) return undefined;
  const counts = {
    input: tokenCount(input ?? 0),
    output: tokenCount(output ?? 0),
    cacheRead: tokenCount(attributes[ATTR.USAGE_CACHE_READ_TOKENS] ?? attributes[ATTR.USAGE_CACHE_READ_TOKENS_AI_SDK] ?? 0),
    cacheWrite: tokenCount(
      attributes[ATTR.USAGE_CACHE_CREATION_TOKENS] ?? attributes[ATTR.USAGE_CACHE_WRITE_TOKENS_ANTHROPIC_SDK] ?? attributes[ATTR.USAGE_CACHE_WRITE_TOKENS_AI_SDK] ?? 0,
    ),
    cacheWrite1h: tokenCount(attributes[ATTR.USAGE_CACHE_WRITE_1H_TOKENS_ANTHROPIC_SDK] ?? 0),
    reasoning: tokenCount(attributes[ATTR.USAGE_REASONING_TOKENS] ?? attributes[ATTR.USAGE_REASONING_TOKENS_AI_SDK] ?? 0),
  };
  for (const [field, count] of Object.entries(counts)) {
    if (count === undefined) {
      logger.warn(`span "${span.name}" has a malformed ${field} token count; its usage is ignored`);
      return undefined;
    }
  }
  const usage = {
    input: counts.input as number,
    output: counts.output as number,
    ...(counts.cacheRead ? { cacheRead: counts.cacheRead } : {}),
    ...(counts.cacheWrite ? { cacheWrite: counts.cacheWrite } : {}),
    ...(counts.cacheWrite1h && counts.cacheWrite1h <= (counts.cacheWrite ?? 0) ? { cacheWrite1h: counts.cacheWrite1h } : {}),
    ...(counts.reasoning ? { reasoning: counts.reasoning } : {}),
  };
  if ((usage.cacheRead ?? 0) + (usage.cacheWrite ?? 0) > usage.input || (usage.reasoning ?? 0) > usage.output) {
    logger.warn(`span "${span.name}" reports cache or reasoning tokens beyond its input or output tokens; its usage is ignored`);
    return undefined;
  }
  const amount = attributes[ATTR.COST_AMOUNT];
  const source = attributes[ATTR.COST_SOURCE];
  const givenCost =
    typeof amount === 'number' && Number.isFinite(amount) && amount >= 0 && (source === 'provider' || source === 'caller')
      ? { ...ZERO_COST, input: usdToPico(amount, ATTR.COST_AMOUNT) }
      : undefined;
  return {
    model: stringAttribute(attributes, ATTR.REQUEST_MODEL) ?? stringAttribute(attributes, ATTR.RESPONSE_MODEL) ?? 'unknown',
    provider: stringAttribute(attributes, ATTR.PROVIDER_NAME) ?? providerFromSystem(stringAttribute(attributes, ATTR.SYSTEM)),
    responseModel: stringAttribute(attributes, ATTR.RESPONSE_MODEL),
    usage,
    totalTokens: usage.input + usage.output,
    cost: givenCost,
    costSource: givenCost === undefined ? undefined : (source as 'provider' | 'caller'),
    costTotalOnly: givenCost !== undefined,
  };
}

// The AI SDK writes `gen_ai.system` as `openai.chat`, `anthropic.messages`: the provider and its API.
// Other dotted values (`gcp.gemini`, `aws.bedrock`) are provider names and stay whole.
const AI_SDK_SYSTEM = /^(.+)\.(chat|messages|responses|completion|embedding|image|transcription|speech)$/;
function providerFromSystem(system: string | undefined): string | undefined {
  if (system === undefined) return undefined;
  return AI_SDK_SYSTEM.exec(system)?.[1] ?? system;
}

function tokenCount(value: unknown): number | undefined {
  const count = typeof value === 'string' ? Number(value) : value;
  return typeof count === 'number' && Number.isSafeInteger(count) && count >= 0 ? count : undefined;
}

function stringAttribute(attributes: Attributes, key: string): string | undefined {
  const value = attributes[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function costSource(calls: readonly PricedCall[]): string {
  const sources = new Set(calls.map((call) => (call.status === 'priced' || call.status === 'unpriced' ? 'local' : call.status)));
  return sources.size === 1 ? [...sources][0] ?? 'local' : 'mixed';
}

function pricingStatus(calls: readonly PricedCall[]): PricingStatus {
  if (calls.some((call) => call.status === 'unpriced')) return 'unpriced';
  const first = calls[0]?.status ?? 'priced';
  return calls.every((call) => call.status === first) ? first : 'priced';
}

