import type { PicoUsd } from '@costspan/core';

/**
 * Token counts of one model call, in the OpenTelemetry GenAI convention:
 * `input` includes cache reads and cache writes, `output` includes reasoning tokens.
 * Usage reported the Anthropic way (cache tokens beside input) is converted by
 * {@link normalizeUsage} first.
 */
export interface TokenUsage {
  /** All input tokens, cache reads and writes included. */
  input: number;
  /** All output tokens, reasoning included. */
  output: number;
  /** Input tokens read from the provider's prompt cache. */
  cacheRead?: number;
  /** Input tokens written to the provider's prompt cache (all TTLs). */
  cacheWrite?: number;
  /** Of `cacheWrite`, tokens written with a 1-hour TTL (Anthropic); the rest are 5-minute writes. */
  cacheWrite1h?: number;
  /** Output tokens spent on reasoning. */
  reasoning?: number;
}

/** What to price: one model call. */
export interface PriceRequest {
  /** Model id as the caller wrote it (`gpt-4o-2024-08-06`, `openai/gpt-4o`, `anthropic.claude-...`). */
  model: string;
  /** Provider, in OTel `gen_ai.provider.name` form (`openai`, `gcp.gemini`, `aws.bedrock`) or the provider's own id. */
  provider?: string;
  /** Usage in the OTel convention (see {@link TokenUsage}). */
  usage: TokenUsage;
  /** When the call happened (epoch ms); prices in force at that instant apply. */
  timestamp: number;
  /**
   * Discount or surcharge for this call only (batch API `0.5`, flex tier, ...), applied to every
   * rate on top of any multiplier configured on the source. Default `1`.
   */
  multiplier?: number | string;
  /**
   * The service tier that served the call, as the provider reported it (OpenAI's `service_tier`:
   * `default`, `flex`, `priority`, `scale`; Anthropic's `standard`, `priority`, `batch`). A tier
   * with a factor in the source's `serviceTierMultipliers` scales every rate (together with
   * `multiplier`, applied once); `default`, `standard` and `auto` are the standard rates.
   */
  serviceTier?: string;
}

/**
 * Snapshot of the prices used, written into each token event so the figure can be re-derived.
 * Field names are the wire names.
 */
export interface PricingTier {
  system: string;
  model: string;
  input_per_million_usd: number;
  output_per_million_usd: number;
  /** `YYYY-MM-DD` from which these prices apply. */
  effective_date: string;
  cached_input_per_million_usd?: number;
  cache_write_per_million_usd?: number;
  reasoning_per_million_usd?: number;
  /** Rate of 1-hour cache writes (Anthropic), when the model has one. */
  cache_write_1h_per_million_usd?: number;
  /** Threshold of input tokens above which a tiered price applied, when one did. */
  tier_threshold_tokens?: number;
  /** Where the prices came from: `@pydantic/genai-prices@0.1.8`, `custom`, ... */
  data_source?: string;
  /** Multiplier already applied to every rate above (negotiated, batch or flex discount), when not 1. */
  multiplier?: number;
}

/**
 * Exact cost of one call. `total = input + output + reasoning - cachedDiscount`.
 * `input` prices every input token at the full input rate (cache writes at their own rate);
 * `cachedDiscount` is what cache reads saved against that rate.
 */
export interface CostBreakdownPico {
  input: PicoUsd;
  output: PicoUsd;
  reasoning: PicoUsd;
  cachedDiscount: PicoUsd;
}

/** A call the source could price. */
export interface PricedCall {
  status: 'priced';
  cost: CostBreakdownPico;
  /** `YYYY-MM-DD` (UTC) of `request.timestamp`. */
  pricingDate: string;
  tier: PricingTier;
  /**
   * Set when the request named a non-standard service tier: `true` when its factor applied,
   * `false` when the source has none for it (the call is priced at the standard rates).
   */
  serviceTierApplied?: boolean;
}

/** A call the source could not price: cost 0, and the reason. */
export interface UnpricedCall {
  status: 'unpriced';
  /** Human-readable reason, naming the model and provider. */
  reason: string;
  /**
   * Machine-readable reason: `unknown_model` (no price for this model), `no_token_prices`
   * (the model is known but not priced per token), `invalid_usage` / `invalid_request`
   * (the request itself is wrong), `no_price_in_force` (a custom price exists, but not at
   * that timestamp), `source_error` (a price source threw).
   */
  code?: UnpricedCode;
}

/** Machine-readable reason of an {@link UnpricedCall}. */
export type UnpricedCode = 'unknown_model' | 'no_token_prices' | 'no_price_in_force' | 'invalid_usage' | 'invalid_request' | 'source_error';

/** Result of {@link PriceSource.price}. */
export type PriceResult = PricedCall | UnpricedCall;

/**
 * Turns one model call into an exact cost. Implementations must be fast for
 * repeated (provider, model, day) lookups and must never throw for an unknown
 * model: they return `{ status: 'unpriced' }`.
 */
export interface PriceSource {
  price(request: PriceRequest): PriceResult;
}
