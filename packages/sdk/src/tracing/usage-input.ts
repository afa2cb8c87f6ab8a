import { invalidInput, usdToPico } from '@costspan/core';
import type { CostBreakdownPico, TokenUsage } from '@costspan/pricing';

/**
 * Token counts of one model call as a step reports them, in the OpenTelemetry
 * GenAI convention: `input` includes cache reads and writes, `output` includes
 * reasoning tokens. (Anthropic reports cache tokens beside input: convert with
 * `normalizeUsage(usage, 'anthropic')` from `@costspan/pricing` first.)
 */
export interface TokenUsageInput {
  input: number;
  output: number;
  /** Defaults to `input + output`. */
  total?: number;
  cacheRead?: number;
  cacheWrite?: number;
  /** Of `cacheWrite`, tokens written with a 1-hour TTL. */
  cacheWrite1h?: number;
  reasoning?: number;
}

/**
 * Cost of one model call given by the caller, in USD: split into input and output, or, when the
 * provider reports only a total (a gateway's `cost` field), `{ totalUsd }`, which the processor
 * splits in the price table's proportions when it knows the model (else books it as input).
 */
export type CostInput =
  | {
      inputUsd: number;
      outputUsd: number;
      reasoningUsd?: number;
      /** What cache reads saved; subtracted: `total = input + output + reasoning - cachedDiscount`. */
      cachedDiscountUsd?: number;
    }
  | { totalUsd: number };

/**
 * Largest cost of one call, in pico-USD: 2^53 - 1 (about $9,007.20). Up to it an amount is an
 * exact JSON number on the wire (a double holds every integer pico-dollar count that size);
 * beyond it the wire would round, and at 1e308 a sum would print as `null`.
 */
export const MAX_CALL_PICO: bigint = BigInt(Number.MAX_SAFE_INTEGER);

function amount(value: number | string, field: string): bigint {
  const pico = usdToPico(value, field);
  if (pico > MAX_CALL_PICO) {
    throw invalidInput(
      'invalid_cost',
      field,
      value,
      'at most 9007.199254740991 USD (2^53 - 1 pico-USD) for one call, the range carried exactly',
    );
  }
  return pico;
}

function count(value: unknown, field: string): number {
  // Number.isSafeInteger is false for every non-number, so the cast below is sound.
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw invalidInput('invalid_tokens', field, value, 'a non-negative integer');
  }
  return value as number;
}

/**
 * Checks token counts and returns them with their total.
 *
 * @throws CostspanError `invalid_tokens` for negative, fractional, NaN or
 * infinite counts, for cache or reasoning buckets larger than the count that includes them,
 * and for input + output past `Number.MAX_SAFE_INTEGER` (where counts stop being exact)
 */
export function validateTokenUsage(usage: TokenUsageInput, field = 'usage'): { usage: TokenUsage; total: number } {
  if (typeof usage !== 'object' || usage === null) {
    throw invalidInput('invalid_tokens', field, usage, 'an object with input and output token counts');
  }
  const input = count(usage.input, `${field}.input`);
  const output = count(usage.output, `${field}.output`);
  const result: TokenUsage = { input, output };
  if (usage.cacheRead !== undefined) result.cacheRead = count(usage.cacheRead, `${field}.cacheRead`);
  if (usage.cacheWrite !== undefined) result.cacheWrite = count(usage.cacheWrite, `${field}.cacheWrite`);
  if (usage.cacheWrite1h !== undefined) {
    result.cacheWrite1h = count(usage.cacheWrite1h, `${field}.cacheWrite1h`);
    if (result.cacheWrite1h > (result.cacheWrite ?? 0)) {
      throw invalidInput('invalid_tokens', `${field}.cacheWrite1h`, usage.cacheWrite1h, `at most cacheWrite (${result.cacheWrite ?? 0})`);
    }
  }
  if (usage.reasoning !== undefined) result.reasoning = count(usage.reasoning, `${field}.reasoning`);
  const cached = (result.cacheRead ?? 0) + (result.cacheWrite ?? 0);
  if (cached > input) {
    throw invalidInput(
      'invalid_tokens',
      `${field}.cacheRead`,
      usage.cacheRead,
      `with cacheWrite at most input (${input}): input includes cache tokens in the OpenTelemetry convention; convert Anthropic-style usage with normalizeUsage(usage, 'anthropic')`,
    );
  }
  if ((result.reasoning ?? 0) > output) {
    throw invalidInput(
      'invalid_tokens',
      `${field}.reasoning`,
      usage.reasoning,
      `at most output (${output}): output includes reasoning tokens`,
    );
  }
  if (!Number.isSafeInteger(input + output)) {
    // Past 2^53 token counts stop being exact integers: refused, never rounded.
    throw invalidInput('invalid_tokens', `${field}.output`, usage.output, `with input at most ${Number.MAX_SAFE_INTEGER} tokens in all`);
  }
  const total = usage.total === undefined ? input + output : count(usage.total, `${field}.total`);
  return { usage: result, total };
}

/**
 * Converts a caller's cost to exact pico-dollars.
 *
 * @throws CostspanError `invalid_cost` naming the field for negative, NaN or infinite
 * amounts, for amounts (or an input + output + reasoning sum) beyond {@link MAX_CALL_PICO}
 * (about $9,007.20, the largest carried exactly), or a discount larger than the cost it discounts
 */
export function validateCost(cost: CostInput, field = 'cost'): { cost: CostBreakdownPico; totalOnly: boolean } {
  if (typeof cost !== 'object' || cost === null) {
    throw invalidInput('invalid_cost', field, cost, 'an object with inputUsd and outputUsd, or totalUsd');
  }
  if ('totalUsd' in cost && !('inputUsd' in cost)) {
    return { cost: { input: amount(cost.totalUsd, `${field}.totalUsd`), output: 0n, reasoning: 0n, cachedDiscount: 0n }, totalOnly: true };
  }
  const parts = cost as Extract<CostInput, { inputUsd: number }>;
  const breakdown: CostBreakdownPico = {
    input: amount(parts.inputUsd, `${field}.inputUsd`),
    output: amount(parts.outputUsd, `${field}.outputUsd`),
    reasoning: parts.reasoningUsd === undefined ? 0n : amount(parts.reasoningUsd, `${field}.reasoningUsd`),
    cachedDiscount: parts.cachedDiscountUsd === undefined ? 0n : amount(parts.cachedDiscountUsd, `${field}.cachedDiscountUsd`),
  };
  if (breakdown.input + breakdown.output + breakdown.reasoning > MAX_CALL_PICO) {
    throw invalidInput(
      'invalid_cost',
      `${field}.outputUsd`,
      parts.outputUsd,
      'with inputUsd and reasoningUsd at most 9007.199254740991 USD (2^53 - 1 pico-USD) for one call',
    );
  }
  if (breakdown.cachedDiscount > breakdown.input + breakdown.output + breakdown.reasoning) {
    throw invalidInput('invalid_cost', `${field}.cachedDiscountUsd`, parts.cachedDiscountUsd, 'at most the cost it discounts');
  }
  return { cost: breakdown, totalOnly: false };
}

/** Longest service tier name accepted (providers' are short words: `flex`, `priority`, `default`). */
const MAX_SERVICE_TIER_LENGTH = 64;

/**
 * Checks a service tier as a provider reports it (`flex`, `priority`, `default`, `scale`,
 * `standard`, ...): a short word of letters, digits, `_`, `-` or `.`.
 *
 * @throws CostspanError `invalid_name` naming the field for anything else
 */
export function validateServiceTier(tier: unknown, field = 'serviceTier'): string {
  if (typeof tier !== 'string' || tier.length > MAX_SERVICE_TIER_LENGTH || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(tier)) {
    throw invalidInput(
      'invalid_name',
      field,
      tier,
      `a service tier name (letters, digits, "_", "-", "."; at most ${MAX_SERVICE_TIER_LENGTH} characters)`,
    );
  }
  return tier;
}

/**
 * Checks a run, step or model name.
 *
 * @throws CostspanError `invalid_name` for an empty or non-string name
 */
export function validateName(name: unknown, field: string): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw invalidInput('invalid_name', field, name, 'a non-empty string');
  }
  return name;
}
