import { CostspanError, invalidInput, type CostspanErrorCode, type PicoUsd } from '@costspan/core';
import { createDefaultPriceSource } from './composite-price-source.js';
import { canonicalProvider } from './model-name.js';
import type { PriceSource, PricedCall, UnpricedCall } from './price-source.js';

/**
 * Factor applied to o200k token counts for models whose tokenizer is not OpenAI's (Claude,
 * Gemini, Llama, Mistral, ...): `1.35`. Their tokenizers typically produce 0–35% more tokens than
 * o200k on the same text (more on code and non-English text), so estimates round towards the
 * upper end, which is what a budget check wants. Override per call with `safetyFactor`.
 */
export const NON_OPENAI_SAFETY_FACTOR = 1.35;

/** One chat message to estimate: OpenAI/Anthropic shape; non-text parts (images, audio) are not counted. */
export interface EstimateMessage {
  role: string;
  content: string | null | undefined | ReadonlyArray<string | { type?: string; text?: string }>;
  name?: string;
}

/** Text or chat messages whose input tokens to estimate. */
export type EstimateInput = string | readonly EstimateMessage[];

/** Options of {@link estimateTokens}. */
export interface EstimateTokensOptions {
  /** Provider of the model (`openai`, `anthropic`, `gcp.gemini`, ...); helps pick the tokenizer. */
  provider?: string;
  /**
   * Multiplier for non-OpenAI models (ignored for OpenAI models, counted exactly).
   * Default {@link NON_OPENAI_SAFETY_FACTOR}.
   */
  safetyFactor?: number;
}

interface Encoder {
  encode: (text: string, options?: { disallowedSpecial?: Set<string> }) => number[];
}

type EncodingName = 'o200k_base' | 'cl100k_base';

const encoders = new Map<EncodingName, Promise<Encoder>>();

// Loaded on first use: the BPE tables are megabytes, and importing @costspan/pricing must stay cheap.
function loadEncoder(name: EncodingName): Promise<Encoder> {
  let loading = encoders.get(name);
  if (loading === undefined) {
    loading = (name === 'o200k_base' ? import('gpt-tokenizer/encoding/o200k_base') : import('gpt-tokenizer/encoding/cl100k_base')).then(
      (module) => module as unknown as Encoder,
    );
    // Let a failed load be retried rather than cached forever.
    loading.catch(() => encoders.delete(name));
    encoders.set(name, loading);
  }
  return loading;
}

const OPENAI_PROVIDERS = new Set(['openai', 'azure']);
const OPENAI_MODEL = /^(?:gpt-|o\d|chatgpt-|text-embedding-|codex-|computer-use|davinci|babbage|ft:gpt)/;
const CL100K_MODEL = /^(?:gpt-4(?:$|-)|gpt-3\.5|text-embedding-(?:3|ada)|davinci|babbage|ft:gpt-3\.5|ft:gpt-4-)/;

function bareModel(model: string): string {
  const name = model.trim().toLowerCase();
  const slash = name.lastIndexOf('/');
  const withoutPath = slash >= 0 ? name.slice(slash + 1) : name;
  return withoutPath.startsWith('openai:') ? withoutPath.slice('openai:'.length) : withoutPath;
}

function tokenizerFor(model: string, provider: string | undefined): { encoding: EncodingName; exact: boolean } {
  const bare = bareModel(model);
  const canonical = canonicalProvider(provider);
  const openAi = OPENAI_MODEL.test(bare) || (canonical !== undefined && OPENAI_PROVIDERS.has(canonical) && !bare.includes('claude'));
  if (!openAi) return { encoding: 'o200k_base', exact: false };
  return { encoding: CL100K_MODEL.test(bare) ? 'cl100k_base' : 'o200k_base', exact: true };
}

const NO_SPECIAL = { disallowedSpecial: new Set<string>() };

/** `object`, `array`, `null`, `number`, ...: what a refused value is, never what it says. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Refuses a malformed prompt by naming the field and the value's type only: the value is (or
 * holds) prompt text, which must not reach error messages, span events or logs.
 */
function invalidPrompt(field: string, value: unknown, expectation: string, code: CostspanErrorCode = 'invalid_argument'): CostspanError {
  return new CostspanError({ code, field, message: `${field} must be ${expectation}; got ${kindOf(value)}` });
}

/**
 * Refuses a bad model, count or option: numbers and empty strings are quoted; any other value
 * only by type, since a value in the wrong argument may be the prompt.
 */
function invalidOption(code: CostspanErrorCode, field: string, value: unknown, expectation: string): CostspanError {
  const harmless = typeof value === 'number' || (typeof value === 'string' && value.trim() === '');
  return harmless ? invalidInput(code, field, value, expectation) : invalidPrompt(field, value, expectation, code);
}

function textOf(content: EstimateMessage['content'], field: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalidPrompt(field, content, 'a string or parts array');
  const parts: Exclude<EstimateMessage['content'], string | null | undefined> = content;
  return parts.map((part) => (typeof part === 'string' ? part : typeof part?.text === 'string' ? part.text : '')).join('');
}

function countRaw(encoder: Encoder, input: EstimateInput): number {
  if (typeof input === 'string') return encoder.encode(input, NO_SPECIAL).length;
  if (!Array.isArray(input)) throw invalidPrompt('input', input, 'a string or an array of messages');
  // OpenAI's published accounting for chat models: 3 tokens of framing per message, 1 for a name,
  // and 3 that prime the reply.
  let total = 3;
  input.forEach((message: EstimateMessage, index) => {
    if (typeof message !== 'object' || message === null || typeof message.role !== 'string') {
      throw invalidPrompt(`input[${index}]`, message, 'a message with a string role');
    }
    total += 3 + encoder.encode(message.role, NO_SPECIAL).length;
    total += encoder.encode(textOf(message.content, `input[${index}].content`), NO_SPECIAL).length;
    if (typeof message.name === 'string') total += 1 + encoder.encode(message.name, NO_SPECIAL).length;
  });
  return total;
}

function checkModel(model: unknown): asserts model is string {
  if (typeof model !== 'string' || model.trim() === '') throw invalidOption('invalid_name', 'model', model, 'a non-empty model id');
}

function checkFactor(factor: number | undefined): number {
  if (factor === undefined) return NON_OPENAI_SAFETY_FACTOR;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor <= 0) {
    throw invalidOption('invalid_argument', 'safetyFactor', factor, 'a finite number > 0');
  }
  return factor;
}

/**
 * Estimates the input tokens of a text or chat before calling a model, for budget checks.
 * OpenAI models are counted exactly with their tokenizer (o200k, or cl100k for GPT-4/3.5 and
 * older embeddings); any other model is counted with o200k and multiplied by `safetyFactor`
 * (default {@link NON_OPENAI_SAFETY_FACTOR}), rounded up. The tokenizer (`gpt-tokenizer`, pure JS)
 * is imported on first use only.
 *
 * @throws CostspanError `invalid_name` for an empty model, `invalid_argument` for a bad input or factor;
 *   a bad input is named by field and type only (`input[0].content must be a string or parts array; got object`),
 *   never quoted, since it is prompt text
 * @example
 * ```ts
 * const tokens = await estimateTokens([{ role: 'user', content: 'Summarise this…' }], 'claude-sonnet-4-5');
 * ```
 */
export async function estimateTokens(input: EstimateInput, model: string, options: EstimateTokensOptions = {}): Promise<number> {
  checkModel(model);
  const factor = checkFactor(options.safetyFactor);
  const { encoding, exact } = tokenizerFor(model, options.provider);
  const encoder = await loadEncoder(encoding);
  const tokens = countRaw(encoder, input);
  return exact ? tokens : Math.ceil(tokens * factor);
}

/** Options of {@link estimateCost}. */
export interface EstimateCostOptions extends EstimateTokensOptions {
  /** When the call will happen (epoch ms), for the prices in force. Default now. */
  timestamp?: number;
  /** Where prices come from. Default: a shared {@link createDefaultPriceSource} (table only). */
  source?: PriceSource;
}

/**
 * A priced estimate: the figures of a {@link PricedCall} for the estimated tokens, plus `total`.
 * An upper bound: every output token is priced at the output rate, no cache discount is assumed.
 */
export interface CostEstimate extends PricedCall {
  /** `input + output + reasoning - cachedDiscount`, in pico-USD. */
  total: PicoUsd;
  /** Estimated input tokens (safety factor included). */
  inputTokens: number;
  /** `maxOutputTokens`. */
  outputTokens: number;
}

let sharedSource: PriceSource | undefined;

/**
 * Estimates, before the call, what a model call may cost at most: input tokens from
 * {@link estimateTokens}, `maxOutputTokens` all at the output rate (including a long-context tier
 * when the estimated input crosses it), exact in pico-USD.
 *
 * @returns the estimate, or `{ status: 'unpriced' }` when the model has no price
 * @throws CostspanError `invalid_tokens` for a negative, fractional or NaN `maxOutputTokens`,
 *   and the errors of {@link estimateTokens}
 * @example
 * ```ts
 * const estimate = await estimateCost('gpt-4o', prompt, 1024);
 * if (estimate.status === 'priced' && estimate.total > remainingBudget) refuse();
 * ```
 */
export async function estimateCost(
  model: string,
  input: EstimateInput,
  maxOutputTokens: number,
  options: EstimateCostOptions = {},
): Promise<CostEstimate | UnpricedCall> {
  checkModel(model);
  if (typeof maxOutputTokens !== 'number' || !Number.isSafeInteger(maxOutputTokens) || maxOutputTokens < 0) {
    throw invalidOption('invalid_tokens', 'maxOutputTokens', maxOutputTokens, 'a non-negative integer');
  }
  if (options.timestamp !== undefined && (typeof options.timestamp !== 'number' || !Number.isFinite(options.timestamp))) {
    throw invalidOption('invalid_argument', 'timestamp', options.timestamp, 'epoch milliseconds');
  }
  const inputTokens = await estimateTokens(input, model, options);
  const source = options.source ?? (sharedSource ??= createDefaultPriceSource());
  const result = source.price({
    model,
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    usage: { input: inputTokens, output: maxOutputTokens },
    timestamp: options.timestamp ?? Date.now(),
  });
  if (result.status !== 'priced') return result;
  const { cost } = result;
  return {
    ...result,
    total: cost.input + cost.output + cost.reasoning - cost.cachedDiscount,
    inputTokens,
    outputTokens: maxOutputTokens,
  };
}
