import type { RecordUsageInput, Step, TokenUsageInput } from '@costspan/sdk';
import {
  buildUsage,
  markUsageMissing,
  openStreamCall,
  recordObservedCall,
  tokenCount,
  totalCost,
  usdAmount,
  type CallDefaults,
  type ObservedCall,
  type UsageRecordOptions,
} from './usage-recording.js';
import { observeIteration } from './observe-iteration.js';

/**
 * The `usage` of an OpenAI response, structurally: Chat Completions and
 * Embeddings (`prompt_tokens`, `completion_tokens`, `*_details`) or the
 * Responses API (`input_tokens`, `output_tokens`, `*_details`). `cost` is the
 * USD cost some OpenAI-compatible gateways report (OpenRouter's `usage.cost`).
 */
export interface OpenAIUsageLike {
  prompt_tokens?: number | null | undefined;
  completion_tokens?: number | null | undefined;
  input_tokens?: number | null | undefined;
  output_tokens?: number | null | undefined;
  total_tokens?: number | null | undefined;
  prompt_tokens_details?: { cached_tokens?: number | null; cache_write_tokens?: number | null } | null | undefined;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null | undefined;
  input_tokens_details?: { cached_tokens?: number | null; cache_write_tokens?: number | null } | null | undefined;
  output_tokens_details?: { reasoning_tokens?: number | null } | null | undefined;
  cost?: number | string | null | undefined;
}

/**
 * An OpenAI response, structurally: a `ChatCompletion`, a Responses API
 * `Response`, a `CreateEmbeddingResponse`, or the last chunk of a stream.
 * The `openai` package's own types fit it; costspan does not depend on them.
 */
export interface OpenAIResponseLike {
  model?: string | null | undefined;
  usage?: OpenAIUsageLike | null | undefined;
  service_tier?: string | null | undefined;
}

/**
 * One item of an OpenAI stream, structurally: a `ChatCompletionChunk` (usage
 * on the last chunk with `stream_options: { include_usage: true }`) or a
 * Responses API stream event (usage in `response.completed`).
 */
export interface OpenAIStreamItemLike extends OpenAIResponseLike {
  type?: string | undefined;
  response?: OpenAIResponseLike | null | undefined;
}

/** OpenAI's dated snapshots: the alias, then `-YYYY-MM-DD` (`gpt-4o-2024-08-06` is a snapshot of `gpt-4o`). */
const OPENAI_SNAPSHOT_DATE = /-\d{4}-\d{2}-\d{2}$/;

/**
 * @internal The model a request most likely named, from the dated snapshot an OpenAI response
 * names: the alias without its date. Used only when the request was not seen.
 */
export function openAIRequestModel(responseModel: string): string {
  return responseModel.replace(OPENAI_SNAPSHOT_DATE, '');
}

/** `openai.response.service_tier`, as the OpenTelemetry GenAI conventions name it. */
const SERVICE_TIER_ATTRIBUTE = 'openai.response.service_tier';
const PROVIDER = 'openai';
/** Responses API events that carry the final response with its usage. */
const FINAL_RESPONSE_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** @internal Reads an OpenAI response into the OpenTelemetry usage convention. */
export function observeOpenAIResponse(response: OpenAIResponseLike): ObservedCall {
  const raw = response.usage ?? undefined;
  const attributes: ObservedCall['attributes'] = {};
  if (typeof response.service_tier === 'string') attributes[SERVICE_TIER_ATTRIBUTE] = response.service_tier;
  return {
    responseModel: typeof response.model === 'string' && response.model !== '' ? response.model : undefined,
    usage: raw === undefined ? undefined : openAIUsage(raw),
    providerCost: raw === undefined ? undefined : totalCost(usdAmount(raw.cost)),
    attributes,
    serviceTier: typeof response.service_tier === 'string' ? response.service_tier : undefined,
  };
}

function openAIUsage(raw: OpenAIUsageLike): TokenUsageInput | undefined {
  // OpenAI's input counts already include cached tokens, and output counts reasoning: the OTel convention.
  const responses = raw.input_tokens !== undefined && raw.input_tokens !== null;
  const input = tokenCount(responses ? raw.input_tokens : raw.prompt_tokens);
  if (input === undefined) return undefined;
  const inputDetails = responses ? raw.input_tokens_details : raw.prompt_tokens_details;
  const outputDetails = responses ? raw.output_tokens_details : raw.completion_tokens_details;
  return buildUsage({
    input,
    // Embeddings have no completion tokens.
    output: tokenCount(responses ? raw.output_tokens : raw.completion_tokens) ?? 0,
    total: tokenCount(raw.total_tokens),
    cacheRead: tokenCount(inputDetails?.cached_tokens),
    cacheWrite: tokenCount(inputDetails?.cache_write_tokens),
    reasoning: tokenCount(outputDetails?.reasoning_tokens),
  });
}

/**
 * Records the usage of one OpenAI call on `step`: Chat Completions
 * (`prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`),
 * the Responses API (`input_tokens_details`, `output_tokens_details`), Embeddings,
 * or a final stream chunk. `service_tier` goes on the span as
 * `openai.response.service_tier`. A cost reported in `usage.cost` (OpenRouter
 * and other gateways) is recorded with `gen_ai.usage.cost.source = provider`
 * and wins over the price table; `options.cost` wins over both.
 *
 * A response without usage is not recorded as $0: the step is marked
 * `llm.cost.usage.missing = true` instead and `undefined` is returned.
 *
 * @returns the call as recorded, or `undefined` when the usage was missing or invalid
 * @throws CostspanError when the step has ended or `options` are invalid
 * @example
 * ```ts
 * await run.step('answer', async (step) => {
 *   const completion = await openai.chat.completions.create({ model: 'gpt-4o', messages });
 *   recordOpenAIUsage(step, completion);
 *   return completion.choices[0]?.message.content;
 * });
 * ```
 */
export function recordOpenAIUsage(
  step: Step,
  response: OpenAIResponseLike,
  options: UsageRecordOptions = {},
): RecordUsageInput | undefined {
  return recordObservedCall(
    step,
    observeOpenAIResponse(response),
    { provider: PROVIDER, source: 'openai', modelFromResponse: openAIRequestModel },
    options,
  );
}

/**
 * Records the usage of an OpenAI stream on `step` once the stream has been
 * read: the last Chat Completions chunk that carries `usage` (request it with
 * `stream_options: { include_usage: true }`), or the response of the Responses
 * API's `response.completed` event. The stream is returned as it is, with its
 * async iterator wrapped in place, so its type and other members are kept
 * (`tee()` and `toReadableStream()` read past the wrapper and are not tracked).
 *
 * A stream that ends without usage, or is left before its usage arrived, is
 * marked `llm.cost.usage.missing = true` on the step (reason `not_reported` or
 * `stream_incomplete`) instead of being recorded as $0. Read the stream inside
 * the step's callback: usage is recorded when it ends.
 *
 * @example
 * ```ts
 * await run.step('answer', async (step) => {
 *   const stream = await openai.chat.completions.create({
 *     model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true },
 *   });
 *   for await (const chunk of trackOpenAIStream(step, stream)) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 * });
 * ```
 */
export function trackOpenAIStream<Stream extends AsyncIterable<OpenAIStreamItemLike>>(
  step: Step,
  stream: Stream,
  options: UsageRecordOptions = {},
): Stream {
  trackOpenAIStreamWith(
    stream,
    () => step,
    { provider: PROVIDER, source: 'openai_stream', modelFromResponse: openAIRequestModel },
    options,
  );
  return stream;
}

/** @internal Shared by {@link trackOpenAIStream} and the instrumented client. */
export function trackOpenAIStreamWith(
  stream: AsyncIterable<OpenAIStreamItemLike>,
  getStep: () => Step | undefined,
  given: CallDefaults,
  options: UsageRecordOptions,
): void {
  const defaults: CallDefaults = { ...given, source: 'openai_stream' };
  let final: OpenAIResponseLike | undefined;
  let model: string | undefined;
  let serviceTier: string | undefined;
  const open = { model: options.model ?? defaults.requestModel, provider: options.provider ?? defaults.provider };
  const close = openStreamCall(getStep, open);
  observeIteration(
    stream,
    (item) => {
      if (item === null || typeof item !== 'object') return;
      if (typeof item.type === 'string' && item.response !== undefined && item.response !== null) {
        if (typeof item.response.model === 'string') model = item.response.model;
        if (FINAL_RESPONSE_EVENTS.has(item.type) && item.response.usage) final = item.response;
      } else {
        if (typeof item.model === 'string' && item.model !== '') model = item.model;
        if (typeof item.service_tier === 'string') serviceTier = item.service_tier;
        if (item.usage) final = item;
      }
      if (open.model === undefined && model !== undefined) open.model = openAIRequestModel(model);
    },
    (completed) => {
      close();
      const step = getStep();
      if (step === undefined) return;
      if (final === undefined) {
        const named = options.model ?? defaults.requestModel ?? (model === undefined ? undefined : openAIRequestModel(model));
        markUsageMissing(step, completed ? 'not_reported' : 'stream_incomplete', {
          model: named,
          provider: options.provider ?? defaults.provider,
          source: defaults.source,
        });
        return;
      }
      recordObservedCall(
        step,
        observeOpenAIResponse({ model: final.model ?? model, usage: final.usage, service_tier: final.service_tier ?? serviceTier }),
        defaults,
        options,
      );
    },
  );
}
