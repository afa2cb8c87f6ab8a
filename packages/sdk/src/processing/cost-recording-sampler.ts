import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import type { Sampler, SamplingResult } from '@opentelemetry/sdk-trace-base';

// SamplingDecision's values, spelled out so this file needs no runtime import of the trace SDK.
const NOT_RECORD = 0;
const RECORD = 1;

/**
 * Wraps your sampler so that every span is *recorded*, while only the spans your sampler
 * samples are *exported*. Span processors see recorded spans only, so without this a 10% sampler
 * would make costspan see 10% of the cost. Spans your sampler drops become `RECORD` (not
 * `RECORD_AND_SAMPLED`): the `CostSpanProcessor` prices and rolls them up and emits their cost
 * events, and span exporters (which export sampled spans only) still skip them.
 *
 * @example
 * ```ts
 * const provider = new BasicTracerProvider({
 *   sampler: new CostRecordingSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) })),
 *   spanProcessors: [costProcessor, new BatchSpanProcessor(otlpExporter)],
 * });
 * ```
 */
export class CostRecordingSampler implements Sampler {
  private readonly delegate: Sampler;

  constructor(delegate: Sampler) {
    this.delegate = delegate;
  }

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const result = this.delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
    return (result.decision as number) === NOT_RECORD ? { ...result, decision: RECORD } : result;
  }

  toString(): string {
    return `CostRecordingSampler{${this.delegate.toString()}}`;
  }
}
