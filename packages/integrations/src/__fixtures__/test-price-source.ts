import { usdToPico } from '@costspan/core';
import type { PriceSource, PricingTier } from '@costspan/pricing';

interface Prices {
  system: string;
  input: number;
  output: number;
  cacheRead: number;
  /** 5-minute cache writes; OpenAI does not charge extra for writes. */
  cacheWrite: number;
  cacheWrite1h: number;
}

// Published list prices in USD per million tokens.
const PRICES: ReadonlyArray<[RegExp, Prices]> = [
  [/^gpt-4o(?:-\d{4}-\d{2}-\d{2})?$/, { system: 'openai', input: 2.5, output: 10, cacheRead: 1.25, cacheWrite: 2.5, cacheWrite1h: 2.5 }],
  [/^o4-mini(?:-\d{4}-\d{2}-\d{2})?$/, { system: 'openai', input: 1.1, output: 4.4, cacheRead: 0.275, cacheWrite: 1.1, cacheWrite1h: 1.1 }],
  [/^text-embedding-3-small$/, { system: 'openai', input: 0.02, output: 0, cacheRead: 0.02, cacheWrite: 0.02, cacheWrite1h: 0.02 }],
  [/^gemini-2\.5-flash$/, { system: 'google', input: 0.3, output: 2.5, cacheRead: 0.03, cacheWrite: 0.3, cacheWrite1h: 0.3 }],
  [
    /^(?:anthropic\/|(?:us\.)?anthropic\.)?claude-sonnet-4(?:-\d{8})?(?:-v1:0)?$/,
    { system: 'anthropic', input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, cacheWrite1h: 6 },
  ],
];

/** Pico-USD per token for a price in USD per million tokens. */
const perToken = (perMillion: number): bigint => usdToPico(perMillion) / 1_000_000n;

/**
 * A tiny price table with exact published prices, so tests can check costs
 * computed by hand: every input token at the input rate, cache writes at
 * their own rate, and cache reads discounted against the input rate.
 */
export const testPriceSource: PriceSource = {
  price(request) {
    const prices = PRICES.find(([pattern]) => pattern.test(request.model))?.[1];
    if (prices === undefined) return { status: 'unpriced', reason: `no test price for ${request.model}` };
    const { input, output, cacheRead = 0, cacheWrite = 0, cacheWrite1h = 0, reasoning = 0 } = request.usage;
    const inputRate = perToken(prices.input);
    const cost = {
      input:
        BigInt(input - cacheWrite) * inputRate +
        BigInt(cacheWrite - cacheWrite1h) * perToken(prices.cacheWrite) +
        BigInt(cacheWrite1h) * perToken(prices.cacheWrite1h),
      output: BigInt(output - reasoning) * perToken(prices.output),
      reasoning: BigInt(reasoning) * perToken(prices.output),
      cachedDiscount: BigInt(cacheRead) * (inputRate - perToken(prices.cacheRead)),
    };
    const tier: PricingTier = {
      system: prices.system,
      model: request.model,
      input_per_million_usd: prices.input,
      output_per_million_usd: prices.output,
      cached_input_per_million_usd: prices.cacheRead,
      effective_date: '2025-01-01',
    };
    return { status: 'priced', cost, pricingDate: '2026-03-04', tier };
  },
};
