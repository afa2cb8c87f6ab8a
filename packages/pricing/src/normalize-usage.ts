import { invalidInput } from '@costspan/core';
import type { TokenUsage } from './price-source.js';

/**
 * How a provider reports usage:
 * - `openai`: input *includes* cached tokens, output *includes* reasoning (Chat Completions,
 *   Responses, Vercel AI SDK, Azure, most OpenAI-compatible APIs, the OTel convention).
 * - `anthropic`: cache reads and writes are reported *beside* input (Anthropic Messages,
 *   Bedrock Converse `cacheReadInputTokens`/`cacheWriteInputTokens`).
 * - `gemini`: input includes cached content, but thinking tokens are reported *beside* output.
 */
export type UsageStyle = 'openai' | 'anthropic' | 'gemini';

/** A provider's usage object as returned by its API (snake_case or camelCase); unknown keys are ignored. */
export type RawUsage = Readonly<Record<string, unknown>>;

function pick(raw: RawUsage, names: readonly string[]): { name: string; value: number } | undefined {
  for (const name of names) {
    const dot = name.indexOf('.');
    let value: unknown;
    if (dot < 0) {
      value = raw[name];
    } else {
      const parent = raw[name.slice(0, dot)];
      value = typeof parent === 'object' && parent !== null ? (parent as Record<string, unknown>)[name.slice(dot + 1)] : undefined;
    }
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw invalidInput('invalid_tokens', `usage.${name}`, value, 'a non-negative integer');
    }
    return { name, value };
  }
  return undefined;
}

function count(raw: RawUsage, names: readonly string[]): number {
  return pick(raw, names)?.value ?? 0;
}

function build(input: number, output: number, extras: Omit<TokenUsage, 'input' | 'output'>): TokenUsage {
  const usage: TokenUsage = { input, output };
  if (extras.cacheRead) usage.cacheRead = extras.cacheRead;
  if (extras.cacheWrite) usage.cacheWrite = extras.cacheWrite;
  if (extras.cacheWrite1h) usage.cacheWrite1h = extras.cacheWrite1h;
  if (extras.reasoning) usage.reasoning = extras.reasoning;
  return usage;
}

function requireAtMost(part: number, partField: string, whole: number, wholeField: string): void {
  if (part > whole) {
    throw invalidInput('invalid_tokens', `usage.${partField}`, part, `at most usage.${wholeField} (${whole}), which includes it`);
  }
}

/**
 * Converts a provider's usage object into costspan's {@link TokenUsage} (the OTel convention:
 * `input` includes cache reads and writes, `output` includes reasoning), so that both styles
 * price the same tokens the same way.
 *
 * Rules, by `style`:
 * - `openai`: `input = prompt_tokens | input_tokens`; `cacheRead = *_tokens_details.cached_tokens`;
 *   `output = completion_tokens | output_tokens`; `reasoning = *_tokens_details.reasoning_tokens`.
 *   Nothing is added: input already contains cached tokens, output already contains reasoning.
 * - `anthropic`: `input = input_tokens + cache_read_input_tokens + cache_creation_input_tokens`;
 *   `cacheWrite1h = cache_creation.ephemeral_1h_input_tokens`; `output = output_tokens`
 *   (thinking is billed inside it and not counted separately).
 * - `gemini`: `input = promptTokenCount + toolUsePromptTokenCount`; `cacheRead = cachedContentTokenCount`;
 *   `output = candidatesTokenCount + thoughtsTokenCount`; `reasoning = thoughtsTokenCount`.
 *
 * camelCase spellings (`inputTokens`, `cachedInputTokens`, `cacheReadInputTokens`, `reasoningTokens`)
 * and costspan's own field names (`input`, `cacheRead`, ...) are read too.
 *
 * @throws CostspanError `invalid_tokens` naming the field for a negative, fractional, NaN or
 *   non-numeric count, or a part larger than its whole (cached > input, reasoning > output)
 * @example
 * ```ts
 * normalizeUsage({ input_tokens: 100, cache_read_input_tokens: 900, output_tokens: 50 }, 'anthropic');
 * // → { input: 1000, output: 50, cacheRead: 900 }
 * ```
 */
export function normalizeUsage(raw: RawUsage, style: UsageStyle): TokenUsage {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalidInput('invalid_argument', 'usage', raw, 'a usage object');
  }
  switch (style) {
    case 'openai': {
      const input = count(raw, ['prompt_tokens', 'input_tokens', 'inputTokens', 'promptTokens', 'input']);
      const output = count(raw, ['completion_tokens', 'output_tokens', 'outputTokens', 'completionTokens', 'output']);
      const cacheRead = pick(raw, [
        'prompt_tokens_details.cached_tokens',
        'input_tokens_details.cached_tokens',
        'cachedInputTokens',
        'cached_tokens',
        'cacheRead',
      ]);
      const cacheWrite = count(raw, ['cacheWrite', 'cache_creation_tokens']);
      const reasoning = pick(raw, [
        'completion_tokens_details.reasoning_tokens',
        'output_tokens_details.reasoning_tokens',
        'reasoningTokens',
        'reasoning_tokens',
        'reasoning',
      ]);
      if (cacheRead) requireAtMost(cacheRead.value + cacheWrite, cacheRead.name, input, 'input');
      if (reasoning) requireAtMost(reasoning.value, reasoning.name, output, 'output');
      return build(input, output, { cacheRead: cacheRead?.value ?? 0, cacheWrite, reasoning: reasoning?.value ?? 0 });
    }
    case 'anthropic': {
      const uncached = count(raw, ['input_tokens', 'inputTokens', 'input']);
      const cacheRead = count(raw, ['cache_read_input_tokens', 'cacheReadInputTokens', 'cacheReadInputTokenCount', 'cacheRead']);
      const write5m = count(raw, ['cache_creation.ephemeral_5m_input_tokens']);
      const write1h = count(raw, ['cache_creation.ephemeral_1h_input_tokens', 'cacheWrite1h']);
      const reported = pick(raw, ['cache_creation_input_tokens', 'cacheWriteInputTokens', 'cacheWriteInputTokenCount', 'cacheWrite']);
      const cacheWrite = reported?.value ?? write5m + write1h;
      requireAtMost(write1h, 'cache_creation.ephemeral_1h_input_tokens', cacheWrite, reported?.name ?? 'cache_creation_input_tokens');
      const output = count(raw, ['output_tokens', 'outputTokens', 'output']);
      const reasoning = count(raw, ['reasoning_tokens', 'reasoningTokens', 'reasoning']);
      requireAtMost(reasoning, 'reasoning', output, 'output_tokens');
      return build(uncached + cacheRead + cacheWrite, output, { cacheRead, cacheWrite, cacheWrite1h: write1h, reasoning });
    }
    case 'gemini': {
      const prompt = count(raw, ['promptTokenCount', 'prompt_token_count', 'input']);
      const toolPrompt = count(raw, ['toolUsePromptTokenCount', 'tool_use_prompt_token_count']);
      const cacheRead = count(raw, ['cachedContentTokenCount', 'cached_content_token_count', 'cacheRead']);
      const candidates = count(raw, ['candidatesTokenCount', 'candidates_token_count', 'output']);
      const thoughts = count(raw, ['thoughtsTokenCount', 'thoughts_token_count', 'reasoning']);
      requireAtMost(cacheRead, 'cachedContentTokenCount', prompt + toolPrompt, 'promptTokenCount');
      return build(prompt + toolPrompt, candidates + thoughts, { cacheRead, reasoning: thoughts });
    }
    default:
      throw invalidInput('invalid_argument', 'style', style, "'openai', 'anthropic' or 'gemini'");
  }
}
