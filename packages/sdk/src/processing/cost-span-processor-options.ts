import type { MeterProvider } from '@opentelemetry/api';
import type { PriceSource } from '@costspan/pricing';
import type { EventPipelineOptions, EventPipelineStats } from '../export/event-pipeline.js';
import type { CostEventListener, EventExporter } from '../export/event-exporter.js';
import type { CostMetricsOptions } from '../metrics/cost-metrics.js';

/** Options of {@link CostSpanProcessor}. */
export interface CostSpanProcessorOptions extends EventPipelineOptions {
  /** Where cost events go (through a bounded, counted queue). Default: none. */
  exporters?: EventExporter[] | undefined;
  /** Receive every cost event synchronously as it is emitted (e.g. a {@link CostTracker}). */
  listeners?: CostEventListener[] | undefined;
  /**
   * Event `source` as `name@semver`. Default: the span resource's
   * `service.name@service.version` (`OTEL_SERVICE_NAME` sets the name), version `0.0.0` when unset.
   */
  source?: string | undefined;
  /**
   * Prices calls that carry usage but no cost. Default: the built-in table
   * (`createDefaultPriceSource()` of `@costspan/pricing`, one shared per process), so
   * `new CostSpanProcessor({ exporters })` prices known models out of the box. Pass your
   * own (e.g. `createDefaultPriceSource({ customPrices })`) to add or override prices, or
   * `null` to turn pricing off: then only costs given by the caller or provider count and
   * every other call is marked unpriced (and told once per model).
   */
  priceSource?: PriceSource | null | undefined;
  /**
   * Spans tracked at once. Past it a leaked leaf is forgotten (counted in
   * `evictedSpans`, reported through `diag`): an open span with no open children,
   * never an ancestor of an open span, so a long run keeps its roll-up. Each tracked
   * span costs about 1.2 KB of heap (the span it keeps alive included), so the default
   * of 100000 bounds this at about 120 MB. An integer ≥ 1, else the constructor throws.
   */
  maxOpenSpans?: number | undefined;
  /**
   * Signs every event into a tamper-evident chain (`checksum`, `signature`,
   * `prev_id`; see {@link EventSigner}). Default: the `COSTSPAN_SIGNING_KEY`
   * environment variable; unsigned when neither is set.
   */
  signingKey?: string | Uint8Array | undefined;
  /**
   * Records cost, token and unpriced-call metrics through this provider (see the README's
   * "Metrics"; `COST_METRICS` names them). Default: none (costspan uses no global provider;
   * pass `metrics.getMeterProvider()` of `@opentelemetry/api` for the global one).
   */
  meterProvider?: MeterProvider | undefined;
  /** Bounds on the metrics' principal attributes (allowlisted keys, distinct values per key). */
  metrics?: CostMetricsOptions | undefined;
}

/** Counters of a {@link CostSpanProcessor}; nothing is dropped silently. */
export interface CostSpanProcessorStats extends EventPipelineStats {
  /** Spans tracked now (open, or ended with open children). */
  openSpans: number;
  /** Spans forgotten because `maxOpenSpans` was reached (leaked leaves; never an ancestor of an open span). */
  evictedSpans: number;
  /** Spans that ended after their parent; their cost is in token and late attributed events. */
  lateSpans: number;
  /** Model calls that could not be priced (cost 0, marked unpriced). */
  unpricedCalls: number;
  /** Model calls that ran but reported no usage (`llm.cost.usage.missing` on their span). */
  usageMissingCalls: number;
  /**
   * Calls refused because their tokens would take a run tree's token sum past
   * `Number.MAX_SAFE_INTEGER`, where counts stop being exact. Not booked; told once.
   */
  tokenOverflowCalls: number;
  /**
   * Calls seen twice and counted once: another instrumentation's span inside a costspan
   * step that recorded the same call itself, or usage on an agent span (`invoke_agent`)
   * whose calls below it were counted.
   */
  duplicateCalls: number;
}
