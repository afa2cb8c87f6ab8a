import {
  ROOT_CONTEXT,
  ValueType,
  type Attributes,
  type BatchObservableResult,
  type Histogram,
  type MeterProvider,
  type ObservableCounter,
} from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { integerOption, picoToUsd } from '@costspan/core';
import { ATTR } from '../attributes.js';
import { notice } from '../notice.js';
import type { PricedCall } from '../processing/call-pricing.js';
import { totalCost } from '../processing/cost-totals.js';
import type { UsageMissing } from '../processing/span-outcome.js';
import type { SpanNode } from '../processing/span-tree.js';
import type { RecordedCall } from '../tracing/span-state.js';
import type { Principal } from '../budget-gate.js';
import { reportError } from '../report-error.js';
import { SDK_NAME, SDK_VERSION } from '../version.js';
import { COST_BUCKETS_USD, COST_METRICS, TOKEN_BUCKETS, TOKEN_TYPE_ATTRIBUTE } from './metric-names.js';
import { HistogramAccumulator, type CostHistogramLink, type OwnHistogram } from './own-histograms.js';
import { PrincipalCardinality, samePrincipal, type PrincipalCardinalityOptions } from './principal-cardinality.js';

export { COST_BUCKETS_USD, COST_METRICS, TOKEN_BUCKETS, TOKEN_TYPE_ATTRIBUTE };

/** Options of costspan's metrics (`metrics` of `CostSpanProcessorOptions`). */
export interface CostMetricsOptions extends PrincipalCardinalityOptions {
  /**
   * Histogram values held between collections, at most; past it they are handed to the SDK at
   * once. Default 10000. An integer ≥ 1, as is `maxSeries`, else the processor's constructor throws.
   */
  maxBufferedValues?: number;
  /** Time series kept per metric; further ones fold into one with `otel.metric.overflow=true`. Default 2000, as the SDK's own limit. */
  maxSeries?: number;
  /** Also record the released `gen_ai.client.token.usage` histogram (two points per call). Default false. */
  tokenUsageHistogram?: boolean;
  /**
   * Aggregate the per-call histograms in costspan and export them through this link's
   * `MetricProducer` (e.g. `CostHistogramProducer` of `@costspan/exporter-otlp`, given to the
   * readers as `metricProducers`) instead of recording each value through the SDK's
   * instruments. Several times cheaper per call; cumulative temporality only, and the
   * `MeterProvider`'s views do not apply to these two histograms. The one-call setup uses it
   * when it makes the readers. Default: the SDK's instruments.
   */
  histograms?: CostHistogramLink;
}

interface PendingValue {
  /** USD; undefined for an unpriced call (its tokens still count). */
  cost: number | undefined;
  input: number;
  output: number;
}

interface CallSeries {
  attributes: Attributes;
  inputAttributes: Attributes;
  outputAttributes: Attributes;
  pending: PendingValue[];
  /** With `histograms`: the cost histogram (priced calls) and the token histogram (input, output), aggregated here. */
  own: { cost: HistogramAccumulator; input: HistogramAccumulator; output: HistogramAccumulator } | undefined;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
  unpriced: number;
}

interface CountSeries {
  attributes: Attributes;
  /** USD counter: exact pico-USD, turned into a double only when observed. */
  pico: bigint;
  count: number;
}

const OVERFLOW_KEY = '\u0000overflow';
const OVERFLOW_ATTRIBUTES: Attributes = { 'otel.metric.overflow': true };

/**
 * Records costspan's metrics from the same priced calls the cost events come from, through the
 * user's `MeterProvider` (OpenTelemetry API only). Per call it only adds to its own tables: the
 * counters are observable (read at collection), and the histogram values are either handed to
 * the SDK in the collection's callback (a synchronous record costs about 3 µs, most of it the
 * SDK hashing the attributes) or, with `histograms`, aggregated here per series (a bucket search
 * and four adds) and read by that link's producer. Values are doubles; the exact figures stay in
 * the cost events. Never throws: failures go to OpenTelemetry's error handler.
 */
export class CostMetrics {
  /** The SDK's instruments, when the histograms are not aggregated here (`histograms`). */
  private readonly costHistogram: Histogram | undefined;
  private readonly tokenHistogram: Histogram | undefined;
  private readonly ownHistograms: boolean;
  private readonly tokenUsage: boolean;
  private readonly counters: Record<
    'usd' | 'input' | 'output' | 'cacheRead' | 'cacheWrite' | 'reasoning' | 'unpriced' | 'usageMissing',
    ObservableCounter
  >;
  private readonly principals: PrincipalCardinality;
  private readonly calls = new Map<string, CallSeries>();
  private readonly spend = new Map<string, CountSeries>();
  private readonly usageMissing = new Map<string, CountSeries>();
  private readonly maxBuffered: number;
  private readonly maxSeries: number;
  private buffered = 0;
  /** The last call's series and what chose it: consecutive calls of one model and agent skip the key and lookup. */
  private lastCall: { provider: string; call: RecordedCall; operation: string | undefined; series: CallSeries } | undefined;
  private lastSpend:
    { provider: string; model: string; agent: string | undefined; principal: Principal | undefined; series: CountSeries } | undefined;

  constructor(meterProvider: MeterProvider, options: CostMetricsOptions = {}) {
    this.principals = new PrincipalCardinality(options);
    this.maxBuffered = integerOption(options.maxBufferedValues, 'metrics.maxBufferedValues', { fallback: 10_000 });
    this.maxSeries = integerOption(options.maxSeries, 'metrics.maxSeries', { fallback: 2000 });
    const meter = meterProvider.getMeter(SDK_NAME, SDK_VERSION);
    this.tokenUsage = options.tokenUsageHistogram === true;
    this.ownHistograms = options.histograms !== undefined;
    if (options.histograms !== undefined) {
      options.histograms.attach(() => this.ownHistogramState());
    } else {
      this.costHistogram = meter.createHistogram(COST_METRICS.OPERATION_COST, {
        description: COST_HISTOGRAM_DESCRIPTION,
        unit: 'USD',
        advice: { explicitBucketBoundaries: [...COST_BUCKETS_USD] },
      });
      if (this.tokenUsage) {
        this.tokenHistogram = meter.createHistogram(COST_METRICS.TOKEN_USAGE, {
          description: TOKEN_HISTOGRAM_DESCRIPTION,
          unit: '{token}',
          valueType: ValueType.INT,
          advice: { explicitBucketBoundaries: [...TOKEN_BUCKETS] },
        });
      }
    }
    const tokens = (name: string, description: string): ObservableCounter =>
      meter.createObservableCounter(name, { description, unit: '{token}', valueType: ValueType.INT });
    this.counters = {
      usd: meter.createObservableCounter(COST_METRICS.COST_USD, {
        description:
          'Cost of GenAI calls in USD, by provider, model, agent and principal (a double; exact figures are in the cost events).',
        unit: 'USD',
      }),
      input: tokens(COST_METRICS.INPUT_TOKENS, 'Input (prompt) tokens used, including cached tokens.'),
      output: tokens(COST_METRICS.OUTPUT_TOKENS, 'Output (completion) tokens used, including reasoning tokens.'),
      cacheRead: tokens(COST_METRICS.CACHE_READ_TOKENS, 'Input tokens served from a provider-managed cache.'),
      cacheWrite: tokens(COST_METRICS.CACHE_WRITE_TOKENS, 'Input tokens written to a provider-managed cache.'),
      reasoning: tokens(COST_METRICS.REASONING_TOKENS, 'Output tokens used for reasoning.'),
      unpriced: meter.createObservableCounter(COST_METRICS.UNPRICED_CALLS, {
        description: 'GenAI calls with usage that could not be priced (booked at $0 in the events, marked unpriced).',
        unit: '{call}',
        valueType: ValueType.INT,
      }),
      usageMissing: meter.createObservableCounter(COST_METRICS.USAGE_MISSING_CALLS, {
        description: 'GenAI calls that ran but reported no usage (no tokens, no cost).',
        unit: '{call}',
        valueType: ValueType.INT,
      }),
    };
    meter.addBatchObservableCallback((result) => this.collect(result), Object.values(this.counters));
  }

  /** Books one call (priced or not) as its token event does. Never throws. */
  recordCall(span: ReadableSpan, node: SpanNode | undefined, priced: PricedCall): void {
    try {
      const call = priced.call;
      const usage = call.usage;
      const provider = call.provider ?? 'unknown';
      const operation = span.attributes[ATTR.OPERATION_NAME];
      const series = this.callSeries(call, provider, typeof operation === 'string' ? operation : undefined);
      const isPriced = priced.status !== 'unpriced';
      const pico = isPriced ? totalCost(priced.cost) : 0n;
      series.input += usage.input;
      series.output += usage.output;
      series.cacheRead += usage.cacheRead ?? 0;
      series.cacheWrite += usage.cacheWrite ?? 0;
      series.reasoning += usage.reasoning ?? 0;
      if (!isPriced) series.unpriced += 1;
      if (isPriced) this.spendSeries(provider, call.model, node).pico += pico;
      const own = series.own;
      if (own !== undefined) {
        if (isPriced) own.cost.record(picoToUsd(pico));
        if (this.tokenUsage) {
          own.input.record(usage.input);
          own.output.record(usage.output);
        }
      } else if (isPriced || this.tokenHistogram !== undefined) {
        const cost = isPriced ? picoToUsd(pico) : undefined;
        series.pending.push({ cost, input: usage.input, output: usage.output });
        this.buffered += 1;
        if (this.buffered >= this.maxBuffered) this.drain();
      }
    } catch (error) {
      reportError(error);
    }
  }

  /** Counts a call that ran but reported no usage. Never throws. */
  recordUsageMissing(missing: UsageMissing): void {
    try {
      const provider = missing.provider ?? 'unknown';
      const key = `${provider}\u0000${missing.model ?? ''}\u0000${missing.reason}`;
      let series = this.usageMissing.get(key);
      if (series === undefined) {
        const attributes: Attributes = { [ATTR.PROVIDER_NAME]: provider, [ATTR.USAGE_MISSING_REASON]: missing.reason };
        if (missing.model !== undefined) attributes[ATTR.REQUEST_MODEL] = missing.model;
        series = this.addSeries(this.usageMissing, key, (overflow) => ({ attributes: overflow ?? attributes, pico: 0n, count: 0 }));
      }
      series.count += 1;
    } catch (error) {
      reportError(error);
    }
  }

  private callSeries(call: RecordedCall, provider: string, operation: string | undefined): CallSeries {
    const last = this.lastCall;
    if (
      last !== undefined &&
      last.provider === provider &&
      last.operation === operation &&
      last.call.model === call.model &&
      last.call.responseModel === call.responseModel
    ) {
      return last.series;
    }
    const series = this.findCallSeries(call, provider, operation);
    this.lastCall = { provider, call, operation, series };
    return series;
  }

  private findCallSeries(call: RecordedCall, provider: string, operation: string | undefined): CallSeries {
    const model = call.model;
    const response = call.responseModel !== undefined && call.responseModel !== model ? call.responseModel : undefined;
    const key = `${provider}\u0000${model}\u0000${response ?? ''}\u0000${operation ?? ''}`;
    return (
      this.calls.get(key) ??
      this.addSeries(this.calls, key, (overflow) => {
        const attributes: Attributes = { [ATTR.PROVIDER_NAME]: provider, [ATTR.REQUEST_MODEL]: model };
        if (response !== undefined) attributes[ATTR.RESPONSE_MODEL] = response;
        if (operation !== undefined) attributes[ATTR.OPERATION_NAME] = operation;
        return newCallSeries(overflow ?? attributes, this.ownHistograms);
      })
    );
  }

  private spendSeries(provider: string, model: string, node: SpanNode | undefined): CountSeries {
    const last = this.lastSpend;
    // Consecutive calls of one agent for one principal (the steps of a run, and the next run of the
    // same agent for the same user: a new principal object each run) share their series.
    if (
      last !== undefined &&
      last.provider === provider &&
      last.model === model &&
      last.agent === node?.run.name &&
      samePrincipal(last.principal, node?.principal)
    ) {
      return last.series;
    }
    const series = this.findSpendSeries(provider, model, node);
    this.lastSpend = { provider, model, agent: node?.run.name, principal: node?.principal, series };
    return series;
  }

  private findSpendSeries(provider: string, model: string, node: SpanNode | undefined): CountSeries {
    const agent = node?.run.name;
    const principal = this.principals.of(node?.principal ?? {});
    const key = `${provider}\u0000${model}\u0000${agent ?? ''}${principal.key}`;
    return (
      this.spend.get(key) ??
      this.addSeries(this.spend, key, (overflow) => {
        const attributes: Attributes = { [ATTR.PROVIDER_NAME]: provider, [ATTR.REQUEST_MODEL]: model };
        if (agent !== undefined) attributes[ATTR.AGENT_NAME] = agent;
        return { attributes: overflow ?? { ...attributes, ...principal.attributes }, pico: 0n, count: 0 };
      })
    );
  }

  /** A new series, or the overflow series once `maxSeries` are kept (told once per metric table). */
  private addSeries<Series>(table: Map<string, Series>, key: string, make: (overflow: Attributes | undefined) => Series): Series {
    if (table.size < this.maxSeries) {
      const series = make(undefined);
      table.set(key, series);
      return series;
    }
    let overflow = table.get(OVERFLOW_KEY);
    if (overflow === undefined) {
      overflow = make(OVERFLOW_ATTRIBUTES);
      table.set(OVERFLOW_KEY, overflow);
      notice(
        'metrics_series_cap',
        `more than ${this.maxSeries} time series on one of costspan's metrics (distinct models, agents or principals): further ones are counted together with otel.metric.overflow=true (the cost events keep every value). Raise metrics.maxSeries, or bound the values.`,
      );
    }
    return overflow;
  }

  /** The collection's callback: observes the counters and hands the held histogram values to the SDK. */
  private collect(result: BatchObservableResult): void {
    try {
      this.drain();
      const counters = this.counters;
      for (const series of this.spend.values()) result.observe(counters.usd, picoToUsd(series.pico), series.attributes);
      for (const series of this.calls.values()) {
        result.observe(counters.input, series.input, series.attributes);
        result.observe(counters.output, series.output, series.attributes);
        if (series.cacheRead > 0) result.observe(counters.cacheRead, series.cacheRead, series.attributes);
        if (series.cacheWrite > 0) result.observe(counters.cacheWrite, series.cacheWrite, series.attributes);
        if (series.reasoning > 0) result.observe(counters.reasoning, series.reasoning, series.attributes);
        if (series.unpriced > 0) result.observe(counters.unpriced, series.unpriced, series.attributes);
      }
      for (const series of this.usageMissing.values()) result.observe(counters.usageMissing, series.count, series.attributes);
    } catch (error) {
      reportError(error);
    }
  }

  /** With `histograms`: the histograms' cumulative state, read by the link's producer. */
  private ownHistogramState(): readonly OwnHistogram[] {
    const cost: HistogramAccumulator[] = [];
    const tokens: HistogramAccumulator[] = [];
    for (const series of this.calls.values()) {
      const own = series.own;
      if (own === undefined) continue;
      if (own.cost.count > 0) cost.push(own.cost);
      if (own.input.count > 0) tokens.push(own.input, own.output);
    }
    const histograms: OwnHistogram[] = [
      {
        name: COST_METRICS.OPERATION_COST,
        description: COST_HISTOGRAM_DESCRIPTION,
        unit: 'USD',
        integer: false,
        boundaries: COST_BUCKETS_USD,
        series: cost,
      },
    ];
    if (this.tokenUsage) {
      histograms.push({
        name: COST_METRICS.TOKEN_USAGE,
        description: TOKEN_HISTOGRAM_DESCRIPTION,
        unit: '{token}',
        integer: true,
        boundaries: TOKEN_BUCKETS,
        series: tokens,
      });
    }
    return histograms;
  }

  private drain(): void {
    this.buffered = 0;
    const costHistogram = this.costHistogram;
    const tokenHistogram = this.tokenHistogram;
    if (costHistogram === undefined) return;
    for (const series of this.calls.values()) {
      const pending = series.pending;
      if (pending.length === 0) continue;
      series.pending = [];
      for (const value of pending) {
        // No span context: sdk-metrics 2.x keeps no exemplars, and building one context per value
        // was about a tenth of the metrics' cost per call (the bench's agent-overhead case).
        if (value.cost !== undefined) costHistogram.record(value.cost, series.attributes, ROOT_CONTEXT);
        if (tokenHistogram === undefined) continue;
        tokenHistogram.record(value.input, series.inputAttributes, ROOT_CONTEXT);
        tokenHistogram.record(value.output, series.outputAttributes, ROOT_CONTEXT);
      }
    }
  }
}

const COST_HISTOGRAM_DESCRIPTION = 'Cost of each priced GenAI call, in USD (a double; the exact figure is in the cost events).';
const TOKEN_HISTOGRAM_DESCRIPTION = 'Number of input and output tokens used.';

function newCallSeries(attributes: Attributes, ownHistograms: boolean): CallSeries {
  const inputAttributes = { ...attributes, [TOKEN_TYPE_ATTRIBUTE]: 'input' };
  const outputAttributes = { ...attributes, [TOKEN_TYPE_ATTRIBUTE]: 'output' };
  const now = Date.now();
  return {
    attributes,
    inputAttributes,
    outputAttributes,
    pending: [],
    own: ownHistograms
      ? {
          cost: new HistogramAccumulator(attributes, COST_BUCKETS_USD, now),
          input: new HistogramAccumulator(inputAttributes, TOKEN_BUCKETS, now),
          output: new HistogramAccumulator(outputAttributes, TOKEN_BUCKETS, now),
        }
      : undefined,
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    reasoning: 0,
    unpriced: 0,
  };
}
