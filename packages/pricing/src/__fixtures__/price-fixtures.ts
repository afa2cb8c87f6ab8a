// Shared by the price sources' tests: prices are USD per million tokens, expected costs worked out by hand.
import { CostspanError, usdToPico } from '@costspan/core';
import { GenAiPriceSource } from '../genai-price-source.js';
import type { PriceRequest, PriceResult, PricedCall, TokenUsage } from '../price-source.js';

export const pico = (usd: string): bigint => usdToPico(usd);

/** A request for `input` input tokens of `model` at `timestamp`. */
export function call(model: string, input: number, timestamp: number, extra: Partial<PriceRequest> = {}): PriceRequest {
  return { model, usage: { input, output: 0 }, timestamp, ...extra };
}

/** The result as a priced call; throws (failing the test) when it is not priced. */
export function priced(result: PriceResult): PricedCall {
  if (result.status !== 'priced') throw new Error(`expected a priced call, got ${result.status}: ${result.reason}`);
  return result;
}

/** The CostspanError `run` throws; fails the test when it throws something else or nothing. */
export function refusal(run: () => unknown): CostspanError {
  try {
    run();
  } catch (error) {
    if (CostspanError.isInstance(error)) return error;
    throw new Error(`expected a CostspanError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a CostspanError, nothing was thrown');
}

/** The fixed time the published-price tests price at. */
export const NOW = Date.parse('2026-03-04T14:32:11.042Z');
/** One shared source of the published prices. */
export const source = new GenAiPriceSource();

/** Prices `usage` of `model` from the published prices at `timestamp` (default {@link NOW}). */
export function price(model: string, provider: string | undefined, usage: TokenUsage, timestamp = NOW): PricedCall {
  return priced(source.price({ model, ...(provider === undefined ? {} : { provider }), usage, timestamp }));
}
