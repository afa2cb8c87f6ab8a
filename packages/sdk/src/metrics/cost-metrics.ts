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
import { picoToUsd } from '@costspan/core';
import { ATTR } from '../attributes.js';
import { notice } from '../notice.js';
import type { PricedCall } from '../processing/call-pricing.js';
import { totalCost } from '../processing/cost-totals.js';
import type { UsageMissing } from '../processing/span-outcome.js';
import type { SpanNode } from '../processing/span-tree.js';
import type { RecordedCall } from '../tracing/span-state.js';
import { reportError } from '../report-error.js';
import { SDK_NAME, SDK_VERSION } from '../version.js';
import { PrincipalCardinality, type PrincipalCardinalityOptions } from './principal-cardinality.js';

/**
 * Names of the metrics costspan records. Prometheus renders them with `_` for `.`, and counters
 * with a `_total` suffix (`llm_cost_usd_total`); histograms as `_bucket`, `_sum`, `_count`.
 */
export const COST_METRICS = {
  /**
   * Histogram of each priced call's cost in USD, by provider, model and operation. The name is a
   * **proposal** of the GenAI semantic conventions, not yet released: open-telemetry/semantic-conventions-genai
   * PR #443 "Add per-operation cost conventions" (https://github.com/open-telemetry/semantic-conventions-genai/pull/443),
   * from issue #287. Unpriced calls are not recorded here (a $0 would look real): see `UNPRICED_CALLS`.
   */
  OPERATION_COST: 'gen_ai.client.operation.cost',
  /**
   * Histogram of tokens per call with `gen_ai.token.type` `input` / `output`: the GenAI conventions'
   * metric as released (development stability; semantic-conventions 1.45, model/gen-ai/metrics.yaml,
   * https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/#metric-gen_aiclienttokenusage).
   * Recorded only with `metrics.tokenUsageHistogram: true`: the current draft (below) counts tokens
   * with counters instead, and two more histogram points per call cost more than the rest together.
   */
  TOKEN_USAGE: 'gen_ai.client.token.usage',
  /**
   * Token counters of the current draft, which adds cache and reasoning breakdowns as counters:
   * open-telemetry/semantic-conventions-genai PR #374 "Fix usage metrics to provide meaningful aggregation
   * and break down by modality, reasoning, cache usage" (https://github.com/open-telemetry/semantic-conventions-genai/pull/374,
   * model/gen-ai/token-metrics.yaml). Input includes cache reads and writes; output includes reasoning.
   * The draft's `gen_ai.token.modality` is not written: costspan does not know a call's modality.
   */
  INPUT_TOKENS: 'gen_ai.client.inference.usage.input_tokens',
  OUTPUT_TOKENS: 'gen_ai.client.inference.usage.output_tokens',
  CACHE_READ_TOKENS: 'gen_ai.client.inference.usage.cache_read.input_tokens',
  CACHE_WRITE_TOKENS: 'gen_ai.client.inference.usage.cache_write.input_tokens',
  REASONING_TOKENS: 'gen_ai.client.inference.usage.reasoning.output_tokens',
  /** costspan's monotonic USD counter by provider, model, agent and (bounded) principal. */
  COST_USD: 'llm.cost.usd',
  /** Calls with usage that could not be priced, by provider and model. */
  UNPRICED_CALLS: 'llm.cost.calls.unpriced',
  /** Calls that ran but reported no usage, by provider, model and reason. */
  USAGE_MISSING_CALLS: 'llm.cost.calls.usage_missing',
} as const;

/** Attribute of `gen_ai.client.token.usage`: `input` or `output`. */
export const TOKEN_TYPE_ATTRIBUTE = 'gen_ai.token.type';

/** Bucket bounds of the cost histogram, in USD: a tenth of a cent to ten dollars per call. */
export const COST_BUCKETS_USD: readonly number[] = [
  0.00001, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Bucket bounds the GenAI conventions advise for `gen_ai.client.token.usage`. */
export const TOKEN_BUCKETS: readonly number[] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/** Options of costspan's metrics (`metrics` of `CostSpanProcessorOptions`). */
export interface CostMetricsOptions extends PrincipalCardinalityOptions {
  /**
   * Histogram values held between collections, at most; past it they are handed to the SDK at
   * once. Default 10000.
   */
  maxBufferedValues?: number;
  /** Time series kept per metric; further ones fold into one with `otel.metric.overflow=true`. Default 2000, as the SDK's own limit. */
  maxSeries?: number;
  /** Also record the released `gen_ai.client.token.usage` histogram (two points per call). Default false. */
  tokenUsageHistogram?: boolean;
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
 * counters are observable (read at collection), and the histogram values are handed to the SDK
 * in the collection's callback (a synchronous record costs microseconds; the hot path stays at
 * a map lookup). Values are doubles; the exact figures stay in the cost events. Never throws:
 * failures go to OpenTelemetry's error handler.
 */
export class CostMetrics {
  private readonly costHistogram: Histogram;
  private readonly tokenHistogram: Histogram | undefined;
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
  private lastSpend: { provider: string; model: string; node: SpanNode | undefined; series: CountSeries } | undefined;

  constructor(meterProvider: MeterProvider, options: CostMetricsOptions = {}) {
    this.principals = new PrincipalCardinality(options);
    this.maxBuffered = positiveInteger(options.maxBufferedValues, 10_000);
    this.maxSeries = positiveInteger(options.maxSeries, 2000);
    const meter = meterProvider.getMeter(SDK_NAME, SDK_VERSION);
    this.costHistogram = meter.createHistogram(COST_METRICS.OPERATION_COST, {
      description: 'Cost of each priced GenAI call, in USD (a double; the exact figure is in the cost events).',
      unit: 'USD',
      advice: { explicitBucketBoundaries: [...COST_BUCKETS_USD] },
    });
    this.tokenHistogram =
      options.tokenUsageHistogram === true
        ? meter.createHistogram(COST_METRICS.TOKEN_USAGE, {
            description: 'Number of input and output tokens used.',
            unit: '{token}',
            valueType: ValueType.INT,
            advice: { explicitBucketBoundaries: [...TOKEN_BUCKETS] },
          })
        : undefined;
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
      if (isPriced || this.tokenHistogram !== undefined) {
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
        return newCallSeries(overflow ?? attributes);
      })
    );
  }

  private spendSeries(provider: string, model: string, node: SpanNode | undefined): CountSeries {
    const last = this.lastSpend;
    // Steps of one run share their run and principal: the same node's run and principal, the same series.
    if (
      last !== undefined &&
      last.provider === provider &&
      last.model === model &&
      last.node?.run === node?.run &&
      last.node?.principal === node?.principal
    ) {
      return last.series;
    }
    const series = this.findSpendSeries(provider, model, node);
    this.lastSpend = { provider, model, node, series };
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

  private drain(): void {
    this.buffered = 0;
    const tokenHistogram = this.tokenHistogram;
    for (const series of this.calls.values()) {
      const pending = series.pending;
      if (pending.length === 0) continue;
      series.pending = [];
      for (const value of pending) {
        // No span context: sdk-metrics 2.x keeps no exemplars, and building one context per value
        // was about a tenth of the metrics' cost per call (the bench's agent-overhead case).
        if (value.cost !== undefined) this.costHistogram.record(value.cost, series.attributes, ROOT_CONTEXT);
        if (tokenHistogram === undefined) continue;
        tokenHistogram.record(value.input, series.inputAttributes, ROOT_CONTEXT);
        tokenHistogram.record(value.output, series.outputAttributes, ROOT_CONTEXT);
      }
    }
  }
}

function newCallSeries(attributes: Attributes): CallSeries {
  return {
    attributes,
    inputAttributes: { ...attributes, [TOKEN_TYPE_ATTRIBUTE]: 'input' },
    outputAttributes: { ...attributes, [TOKEN_TYPE_ATTRIBUTE]: 'output' },
    pending: [],
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    reasoning: 0,
    unpriced: 0,
  };
}

function positiveInteger(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}
