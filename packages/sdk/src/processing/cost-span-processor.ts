import { diag, type Context } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { integerOption, picoToUsd } from '@costspan/core';
import { ATTR, INCLUSIVE_PREFIX, INVOKE_AGENT, OWN_PREFIX } from '../attributes.js';
import type { BudgetReservation } from '../budget-gate.js';
import { recordSpend, releaseUnusedReservations } from './budget-booking.js';
import { CallPricer, costSource, defaultPriceSource, pricingStatus, type PricedCall } from './call-pricing.js';
import { validateSource } from '../events/cost-event.js';
import { CostEventWriter, type WrittenEvent } from '../events/cost-event-writer.js';
import { addCall, addTotals, addUsageMissingCall, emptyTotals, totalCost, totalsToAttributes, type CostTotals } from './cost-totals.js';
import { EventPipeline } from '../export/event-pipeline.js';
import { EventSigner } from '../events/event-signer.js';
import { CostMetrics } from '../metrics/cost-metrics.js';
import { callFromAttributes, stringAttribute } from './foreign-span-call.js';
import { notice } from '../notice.js';
import { attributionTargets, mergePrincipals, principalFromAttributes } from '../tracing/principal.js';
import { reportError } from '../report-error.js';
import {
  budgetRefusalFromAttributes,
  countedMissingOf,
  noticeUsageMissing,
  openCallsOf,
  unrecordedCallOf,
  usageMissingFromSpan,
  type UsageMissing,
} from './span-outcome.js';
import { stepStates, type StepState } from '../tracing/span-state.js';
import { recordedCalls } from '../tracing/step.js';
import { openRunOwn, openStepAbove, SpanNode, SpanTree } from './span-tree.js';

export type { CostSpanProcessorOptions, CostSpanProcessorStats } from './cost-span-processor-options.js';
import type { CostSpanProcessorOptions, CostSpanProcessorStats } from './cost-span-processor-options.js';

const logger = diag.createComponentLogger({ namespace: '@costspan/sdk' });

/**
 * A span processor that prices model calls, rolls their cost up the span tree
 * and emits cost events. Add it to your own `TracerProvider` beside your other
 * processors; it needs no global of its own. It prices from the built-in table
 * unless given another `priceSource` (or `null`).
 *
 * On every run span (`gen_ai.operation.name = invoke_agent`) it writes the
 * cost of the run's own work under `llm.cost.own.*` and of the run with all its
 * descendants under `llm.cost.inclusive.*`; each model call's cost goes on its
 * own span as `gen_ai.usage.cost.amount`. It prices spans of any
 * instrumentation that sets `gen_ai.usage.*`, not only costspan's.
 *
 * Events: one `llm.cost.token.recorded` per model call with usage, one
 * `llm.cost.session.recorded` per root run (counting calls without usage,
 * unpriced calls and refused budgets too), one `llm.cost.attributed` per
 * principal target per root run (and per late span). Nothing here throws into
 * the host application: failures go to OpenTelemetry's `globalErrorHandler`;
 * an unpriced model or a call without usage is told once per cause (see `setNoticeHandler`).
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
/** A call of another instrumentation's span that a costspan step booked as its own. */
interface AdoptedCall {
  call: PricedCall;
  /** The span already carries `gen_ai.usage.cost.amount` (its instrumentation's). */
  spanHasCost: boolean;
}

export class CostSpanProcessor implements SpanProcessor {
  private readonly tree: SpanTree;
  private readonly pipeline: EventPipeline;
  private readonly pricer: CallPricer;
  private readonly writer: CostEventWriter;
  private readonly metrics: CostMetrics | undefined;
  private sawOnEnding = false;
  private lateSpans = 0;
  private duplicateCalls = 0;
  private usageMissingCalls = 0;
  private tokenOverflowCalls = 0;

  constructor(options: CostSpanProcessorOptions = {}) {
    const configuredSource = options.source === undefined ? undefined : validateSource(options.source);
    const maxOpenSpans = integerOption(options.maxOpenSpans, 'maxOpenSpans', { fallback: 100_000 });
    this.pipeline = new EventPipeline(options.exporters ?? [], options);
    this.pricer = new CallPricer(options.priceSource === undefined ? defaultPriceSource() : options.priceSource);
    this.tree = new SpanTree(maxOpenSpans, (node, evicted) => {
      if (evicted === 1 || evicted % 10_000 === 0) {
        logger.warn(
          `more than ${maxOpenSpans} spans open at once; forgot leaked span "${node.name}" (${evicted} so far). Spans that are started and never ended are the usual cause.`,
        );
      }
    });
    const signer = options.signingKey !== undefined ? new EventSigner({ key: options.signingKey }) : EventSigner.fromEnvironment();
    this.writer = new CostEventWriter(this.pipeline, options.listeners ?? [], signer, configuredSource);
    this.metrics = options.meterProvider === undefined ? undefined : new CostMetrics(options.meterProvider, options.metrics);
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
      openSpans: this.tree.size,
      evictedSpans: this.tree.evicted,
      lateSpans: this.lateSpans,
      unpricedCalls: this.pricer.unpricedCalls,
      usageMissingCalls: this.usageMissingCalls,
      tokenOverflowCalls: this.tokenOverflowCalls,
      duplicateCalls: this.duplicateCalls,
    };
  }

  private track(span: Span): void {
    const spanContext = span.spanContext();
    const parentId = span.parentSpanContext?.spanId;
    const parent = parentId === undefined ? undefined : this.tree.get(parentId);
    const attributes = span.attributes;
    const isRun = attributes[ATTR.OPERATION_NAME] === INVOKE_AGENT;
    if (parent === undefined && !isRun) return;

    const name = isRun ? (stringAttribute(attributes, ATTR.AGENT_NAME) ?? span.name) : span.name;
    const ownPrincipal = isRun ? principalFromAttributes(attributes) : undefined;
    const node = new SpanNode(
      spanContext.spanId,
      parent,
      isRun,
      name,
      isRun ? (stringAttribute(attributes, ATTR.AGENT_ID) ?? spanContext.spanId) : (parent?.runId ?? spanContext.spanId),
      parent === undefined ? name : `${parent.scope}/${name}`,
      ownPrincipal === undefined ? (parent?.principal ?? {}) : mergePrincipals(parent?.principal, ownPrincipal),
      span,
    );
    // A run's own session id wins over the one it inherits; the spans below it inherit it (SpanNode).
    if (isRun) node.sessionId = stringAttribute(attributes, ATTR.SESSION_ID) ?? node.sessionId;
    this.tree.add(node);
  }

  private settle(span: ReadableSpan, writable: Span | undefined): void {
    const spanContext = span.spanContext();
    const node = this.tree.get(spanContext.spanId);
    const state = stepStates.get(span);
    const reservations = state?.reservations;
    const priced = this.admit(node, this.callsToBook(span, state, node));
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
        const event = this.writer.tokenEvent(span, node, call);
        this.metrics?.recordCall(span, node, call);
        if (node !== undefined) this.book(node, call, event, endMs, reservations);
      }
      const adopted = node?.deferred === undefined ? [] : this.resolveDeferred(node, priced.length > 0, spanCost, reservations);
      if (node !== undefined) addTotals(node.inclusive, spanCost);
      // Calls of other instrumentation that this step booked as its own (it recorded none) have
      // ended spans: those that carry no cost of their own get it on the step's span, so each
      // call's cost is on exactly one span.
      const onSpan = adopted.length === 0 ? priced : adopted.filter((held) => !held.spanHasCost).map((held) => held.call);
      if (writable !== undefined && onSpan.length > 0) {
        const amount = adopted.length === 0 ? totalCost(spanCost) : onSpan.reduce((sum, call) => sum + totalCost(call.cost), 0n);
        writable.setAttributes({
          [ATTR.COST_AMOUNT]: picoToUsd(amount),
          [ATTR.COST_CURRENCY]: 'USD',
          [ATTR.COST_SOURCE]: costSource(onSpan),
          [ATTR.PRICING_STATUS]: pricingStatus(onSpan),
        });
      }
    }
    if (state?.missingCalls !== undefined) {
      // Each call counted once; the span's `llm.cost.usage.missing` stands for these, not one more.
      for (const counted of countedMissingOf(state)) this.bookUsageMissing(node, counted, endMs, reservations);
    } else {
      // After the calls above are booked: a step that named a model and booked none is a call without usage.
      const missing = usageMissingFromSpan(span, state) ?? unrecordedCallOf(span, state, node);
      if (missing !== undefined) this.bookUsageMissing(node, missing, endMs, reservations);
    }
    if (state?.openCalls !== undefined) for (const open of openCallsOf(state)) this.bookUsageMissing(node, open, endMs, reservations);
    releaseUnusedReservations(reservations, node);
    if (node === undefined) return;
    const refusal = budgetRefusalFromAttributes(span.attributes, node);
    if (refusal !== undefined && !node.root.ended) node.root.rootRecord?.budgetRefusals.push(refusal);

    if (node.isRun && writable !== undefined && node.runOwn !== undefined) {
      writable.setAttributes(totalsToAttributes(INCLUSIVE_PREFIX, node.inclusive, totalsToAttributes(OWN_PREFIX, node.runOwn)));
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
      this.writer.sessionEvents(span, node);
    }
    node.ended = true;
    this.tree.release(node);
  }

  /**
   * Keeps token counts exact: a call whose tokens would take its tree's token sum past
   * `Number.MAX_SAFE_INTEGER` is refused (not booked), counted and told once.
   */
  private admit(node: SpanNode | undefined, calls: PricedCall[]): PricedCall[] {
    const record = node?.root.rootRecord;
    if (record === undefined || calls.length === 0) return calls;
    return calls.filter((call) => {
      const tokens = Math.max(call.call.totalTokens, call.call.usage.input + call.call.usage.output);
      if (record.tokenTally + tokens <= Number.MAX_SAFE_INTEGER) {
        record.tokenTally += tokens;
        return true;
      }
      this.tokenOverflowCalls += 1;
      notice(
        'token_overflow',
        `run "${node?.root.name ?? ''}" would count more than ${Number.MAX_SAFE_INTEGER} tokens, past which counts are not exact; its further calls are not booked (stats().tokenOverflowCalls counts them). Check the token counts your code reports.`,
      );
      return false;
    });
  }

  /**
   * At a step's end: if the step recorded calls itself, the held calls of instrumentation below
   * it are the same calls seen twice, so they are dropped (and counted); otherwise they are the
   * step's calls and are booked now, into `stepCost`. Returns the calls it booked, each with
   * whether its span carries a `gen_ai.usage.cost.amount` of its own.
   */
  private resolveDeferred(
    step: SpanNode,
    stepRecordedCalls: boolean,
    stepCost: CostTotals,
    reservations: BudgetReservation[] | undefined,
  ): AdoptedCall[] {
    const deferred = step.deferred ?? [];
    step.deferred = undefined;
    const booked: AdoptedCall[] = [];
    for (const held of deferred) {
      if (stepRecordedCalls) {
        this.duplicateCalls += held.calls.length;
        logger.debug(`dropped ${held.calls.length} call(s) of span "${held.span.name}": step "${step.name}" recorded them itself`);
        continue;
      }
      const endMs = hrTimeToMilliseconds(held.span.endTime);
      const spanHasCost = held.span.attributes[ATTR.COST_AMOUNT] !== undefined;
      for (const call of held.calls) {
        addCall(stepCost, call.cost, call.call.usage, call.call.totalTokens, call.status !== 'unpriced');
        const event = this.writer.tokenEvent(held.span, held.node, call);
        this.metrics?.recordCall(held.span, held.node, call);
        // The step's reservations settle with these calls, as they would with its own.
        this.book(held.node, call, event, endMs, reservations);
        booked.push({ call, spanHasCost });
      }
    }
    return booked;
  }

  private book(node: SpanNode, call: PricedCall, event: WrittenEvent, endMs: number, reservations: BudgetReservation[] | undefined): void {
    const run = node.run;
    const root = node.root;
    const priced = call.status !== 'unpriced';
    const own = openRunOwn(node);
    if (own !== undefined) addCall(own, call.cost, call.call.usage, call.call.totalTokens, priced);
    // Once per run, not per step: a step's principal is its run's (track() gives children their parent's).
    const targets = (run.targets ??= attributionTargets(run.principal));
    const record = root.rootRecord;
    if (!root.ended && record !== undefined) {
      record.models.add(call.call.model);
      if (!priced) record.unpricedModels.add(call.call.model);
      for (const target of targets) {
        let attribution = record.attribution.get(target);
        if (attribution === undefined) {
          attribution = { totals: emptyTotals(), eventIds: [] };
          record.attribution.set(target, attribution);
        }
        addCall(attribution.totals, call.cost, call.call.usage, call.call.totalTokens, priced);
        attribution.eventIds.push(event.eventId);
      }
    } else {
      for (const target of targets) {
        const totals = emptyTotals();
        addCall(totals, call.cost, call.call.usage, call.call.totalTokens, priced);
        this.writer.attributedEvent(event.envelope, root, target, { totals, eventIds: [event.eventId] }, true);
      }
    }
    // An unpriced call settles at its reservation's estimate (`priced: false`), never at a $0 that looks real.
    recordSpend(node, endMs, totalCost(call.cost), call.call.totalTokens, reservations?.shift(), priced ? undefined : call.call.model);
  }

  /** A call that ran but reported no usage: counted in its run's totals, its reservation settled unpriced. */
  private bookUsageMissing(
    node: SpanNode | undefined,
    missing: UsageMissing,
    endMs: number,
    reservations: BudgetReservation[] | undefined,
  ): void {
    this.usageMissingCalls += 1;
    this.metrics?.recordUsageMissing(missing);
    noticeUsageMissing(missing);
    if (node === undefined) return;
    addUsageMissingCall(node.inclusive);
    const own = openRunOwn(node);
    if (own !== undefined) addUsageMissingCall(own);
    const reservation = reservations?.shift();
    if (reservation !== undefined) recordSpend(node, endMs, 0n, 0, reservation, missing.model ?? 'unknown');
  }

  /**
   * The span's calls, priced. Another instrumentation's agent span may carry its calls' total
   * usage (the GenAI conventions allow usage on `invoke_agent` spans): when calls were booked
   * below it, that total is those calls again, so it is dropped and counted in `duplicateCalls`;
   * with none below, it is the only record of them and is booked.
   */
  private callsToBook(span: ReadableSpan, state: StepState | undefined, node: SpanNode | undefined): PricedCall[] {
    const foreign = state === undefined ? callFromAttributes(span) : undefined;
    const calls = state !== undefined ? recordedCalls(state) : foreign === undefined ? [] : [foreign];
    if (calls.length === 0) return [];
    if (node?.isRun === true && node.inclusive.callCount > 0) {
      this.duplicateCalls += calls.length;
      logger.debug(`dropped the usage on agent span "${node.name}": the ${node.inclusive.callCount} call(s) below it are counted`);
      return [];
    }
    const timestamp = hrTimeToMilliseconds(span.endTime);
    // Each priced call carries its call as recorded (`priced.call`): the token counts are not copied.
    return calls.map((call) => this.pricer.price(call, timestamp));
  }
}
