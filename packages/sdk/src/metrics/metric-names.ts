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
