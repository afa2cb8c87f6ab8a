import { calcPrice, type ModelPrice } from '@pydantic/genai-prices';
import { picoToUsd, usdToPico } from '@costspan/core';
import type { CostInput } from '@costspan/sdk';

/** Units an image or audio call is billed by, as `@pydantic/genai-prices` names them. */
export type MediaUnit =
  | 'input_text_tokens'
  | 'input_image_tokens'
  | 'input_audio_tokens'
  | 'output_text_tokens'
  | 'output_image_tokens'
  | 'output_audio_tokens'
  | 'input_audio_seconds'
  | 'input_characters'
  | 'output_images';

interface UnitPrice {
  /** Price keys, most specific first (a modality's own price, else the generic one). */
  keys: readonly string[];
  per: bigint;
  direction: 'input' | 'output';
}

const UNIT_PRICES: Record<MediaUnit, UnitPrice> = {
  input_text_tokens: { keys: ['input_text_mtok', 'input_mtok'], per: 1_000_000n, direction: 'input' },
  input_image_tokens: { keys: ['input_image_mtok', 'input_mtok'], per: 1_000_000n, direction: 'input' },
  input_audio_tokens: { keys: ['input_audio_mtok', 'input_mtok'], per: 1_000_000n, direction: 'input' },
  output_text_tokens: { keys: ['output_text_mtok', 'output_mtok'], per: 1_000_000n, direction: 'output' },
  output_image_tokens: { keys: ['output_image_mtok', 'output_mtok'], per: 1_000_000n, direction: 'output' },
  output_audio_tokens: { keys: ['output_audio_mtok', 'output_mtok'], per: 1_000_000n, direction: 'output' },
  input_audio_seconds: { keys: ['input_audio_hours', 'audio_hours'], per: 3600n, direction: 'input' },
  input_characters: { keys: ['input_mchars'], per: 1_000_000n, direction: 'input' },
  // genai-prices has no per-image unit: such calls are told as unpriced.
  output_images: { keys: [], per: 1n, direction: 'output' },
};

/** Where the unit prices come from, written on the span. */
export const MEDIA_PRICE_DATA = '@pydantic/genai-prices@0.1.8';

/** The cost of a call's units, or why it has none. */
export type UnitPricing = { status: 'priced'; cost: CostInput } | { status: 'unpriced'; reason: string };

function roundDivide(numerator: bigint, divisor: bigint): bigint {
  const quotient = numerator / divisor;
  return (numerator % divisor) * 2n >= divisor ? quotient + 1n : quotient;
}

function currentPrices(model: string, provider: string): ModelPrice | undefined {
  try {
    return calcPrice({}, model, { providerId: provider })?.model_price ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Prices `units` of one call exactly (pico-USD, each line rounded half up once) from the bundled
 * `@pydantic/genai-prices` data at today's prices. A unit the data has no price for makes the
 * whole call unpriced, with a reason naming the unit: never a partial figure that looks whole.
 */
export function priceMediaUnits(model: string, provider: string, units: Partial<Record<MediaUnit, number>>): UnitPricing {
  const prices = currentPrices(model, provider);
  if (prices === undefined) return { status: 'unpriced', reason: `${MEDIA_PRICE_DATA} has no prices for ${provider} model "${model}"` };
  let input = 0n;
  let output = 0n;
  for (const [unit, count] of Object.entries(units) as Array<[MediaUnit, number]>) {
    if (!count) continue;
    const spec = UNIT_PRICES[unit];
    const value = spec.keys.map((key) => prices[key]).find((price) => typeof price === 'number');
    if (typeof value !== 'number') {
      return {
        status: 'unpriced',
        reason: `${MEDIA_PRICE_DATA} has no ${unit.replaceAll('_', ' ')} price for ${provider} model "${model}"`,
      };
    }
    const cost = roundDivide(usdToPico(value) * BigInt(count), spec.per);
    if (spec.direction === 'input') input += cost;
    else output += cost;
  }
  return { status: 'priced', cost: { inputUsd: picoToUsd(input), outputUsd: picoToUsd(output) } };
}
