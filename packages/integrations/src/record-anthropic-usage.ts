import type { RecordUsageInput, Step, TokenUsageInput } from '@costspan/sdk';
import {
  buildUsage,
  markUsageMissing,
  openStreamCall,
  recordObservedCall,
  tokenCount,
  type CallDefaults,
  type ObservedCall,
  type UsageRecordOptions,
} from './usage-recording.js';
import { observeIteration } from './observe-iteration.js';

/**
 * The `usage` of an Anthropic message, structurally. Anthropic reports cache
 * reads and writes beside `input_tokens`, not inside it; the helpers add them
 * up into the OpenTelemetry convention.
 */
export interface AnthropicUsageLike {
  input_tokens?: number | null | undefined;
  output_tokens?: number | null | undefined;
  cache_read_input_tokens?: number | null | undefined;
  cache_creation_input_tokens?: number | null | undefined;
  cache_creation?:
    { ephemeral_5m_input_tokens?: number | null | undefined; ephemeral_1h_input_tokens?: number | null | undefined } | null | undefined;
  output_tokens_details?: { thinking_tokens?: number | null | undefined } | null | undefined;
  service_tier?: string | null | undefined;
}

/** An Anthropic `Message`, structurally; the `@anthropic-ai/sdk` types fit it. */
export interface AnthropicMessageLike {
  model?: string | null | undefined;
  usage?: AnthropicUsageLike | null | undefined;
}

/**
 * One event of an Anthropic Messages stream, structurally: `message_start`
 * carries the message with its input usage, `message_delta` the cumulative
 * output usage (and, from newer API versions, cumulative input counts too).
 */
export interface AnthropicStreamEventLike {
  type?: string | undefined;
  message?: AnthropicMessageLike | null | undefined;
  usage?: AnthropicUsageLike | null | undefined;
}

/** As the Anthropic SDK's own spans name it. */
const SERVICE_TIER_ATTRIBUTE = 'anthropic.response.service_tier';
const PROVIDER = 'anthropic';

/** @internal Reads an Anthropic message into the OpenTelemetry usage convention. */
export function observeAnthropicMessage(message: AnthropicMessageLike): ObservedCall {
  const raw = message.usage ?? undefined;
  const attributes: ObservedCall['attributes'] = {};
  if (typeof raw?.service_tier === 'string') attributes[SERVICE_TIER_ATTRIBUTE] = raw.service_tier;
  return {
    responseModel: typeof message.model === 'string' && message.model !== '' ? message.model : undefined,
    usage: raw === undefined ? undefined : anthropicUsage(raw),
    providerCost: undefined,
    attributes,
    serviceTier: typeof raw?.service_tier === 'string' ? raw.service_tier : undefined,
  };
}

function anthropicUsage(raw: AnthropicUsageLike): TokenUsageInput | undefined {
  const uncached = tokenCount(raw.input_tokens);
  if (uncached === undefined) return undefined;
  const cacheRead = tokenCount(raw.cache_read_input_tokens) ?? 0;
  const oneHour = tokenCount(raw.cache_creation?.ephemeral_1h_input_tokens) ?? 0;
  const fiveMinutes = tokenCount(raw.cache_creation?.ephemeral_5m_input_tokens) ?? 0;
  // The total is authoritative; the per-TTL breakdown only says how much of it was written for an hour.
  const cacheWrite = tokenCount(raw.cache_creation_input_tokens) ?? oneHour + fiveMinutes;
  return buildUsage({
    input: uncached + cacheRead + cacheWrite,
    output: tokenCount(raw.output_tokens) ?? 0,
    cacheRead,
    cacheWrite,
    cacheWrite1h: oneHour,
    reasoning: tokenCount(raw.output_tokens_details?.thinking_tokens),
  });
}

/**
 * Records the usage of one Anthropic Messages call on `step`. Anthropic
 * reports cache tokens beside `input_tokens`, so the recorded input is
 * `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`, with
 * cache reads, cache writes and, from `cache_creation.ephemeral_1h_input_tokens`,
 * the writes with a 1-hour TTL in their own buckets (priced at their own rates).
 * `usage.service_tier` goes on the span as `anthropic.response.service_tier`.
 *
 * A message without usage is not recorded as $0: the step is marked
 * `llm.cost.usage.missing = true` instead and `undefined` is returned.
 *
 * Note: `@anthropic-ai/sdk` 0.134 and later emit their own span per call,
 * with `gen_ai.usage.*`, through the global tracer provider. When a
 * `CostSpanProcessor` sees those spans too, the call is counted twice: create
 * the client with `openTelemetry: false` when you record with this helper.
 *
 * @returns the call as recorded, or `undefined` when the usage was missing or invalid
 * @throws CostspanError when the step has ended or `options` are invalid
 * @example
 * ```ts
 * await run.step('answer', async (step) => {
 *   const message = await anthropic.messages.create({ model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages });
 *   recordAnthropicUsage(step, message);
 * });
 * ```
 */
export function recordAnthropicUsage(
  step: Step,
  message: AnthropicMessageLike,
  options: UsageRecordOptions = {},
): RecordUsageInput | undefined {
  return recordObservedCall(step, observeAnthropicMessage(message), { provider: PROVIDER, source: 'anthropic' }, options);
}

/**
 * Records the usage of an Anthropic Messages stream (`stream: true`) on `step`
 * once the stream has been read: the input and cache counts of
 * `message_start`, updated by the cumulative counts of the last
 * `message_delta`. The stream is returned as it is, with its async iterator
 * wrapped in place. (With `client.messages.stream()`, you can also pass
 * `await stream.finalMessage()` to {@link recordAnthropicUsage}.)
 *
 * A stream left before its `message_delta` arrived is marked
 * `llm.cost.usage.missing = true` (reason `stream_incomplete`): its output
 * tokens are unknown, and a partial count would understate the cost.
 *
 * @example
 * ```ts
 * await run.step('answer', async (step) => {
 *   const stream = await anthropic.messages.create({ model, max_tokens: 1024, messages, stream: true });
 *   for await (const event of trackAnthropicStream(step, stream)) handle(event);
 * });
 * ```
 */
export function trackAnthropicStream<Stream extends AsyncIterable<AnthropicStreamEventLike>>(
  step: Step,
  stream: Stream,
  options: UsageRecordOptions = {},
): Stream {
  trackAnthropicStreamWith(stream, () => step, { provider: PROVIDER, source: 'anthropic_stream' }, options);
  return stream;
}

/** @internal Shared by {@link trackAnthropicStream} and the instrumented client. */
export function trackAnthropicStreamWith(
  stream: AsyncIterable<AnthropicStreamEventLike>,
  getStep: () => Step | undefined,
  given: CallDefaults,
  options: UsageRecordOptions,
): void {
  const defaults: CallDefaults = { ...given, source: 'anthropic_stream' };
  let model: string | undefined;
  let usage: AnthropicUsageLike | undefined;
  let sawDelta = false;
  const open = { model: options.model ?? defaults.requestModel, provider: options.provider ?? defaults.provider };
  const close = openStreamCall(getStep, open);
  observeIteration(
    stream,
    (event) => {
      if (event === null || typeof event !== 'object') return;
      if (event.type === 'message_start' && event.message) {
        if (typeof event.message.model === 'string') {
          model = event.message.model;
          open.model ??= model;
        }
        usage = { ...event.message.usage };
      } else if (event.type === 'message_delta' && event.usage) {
        sawDelta = true;
        usage ??= {};
        for (const [key, value] of Object.entries(event.usage)) {
          // Delta counts are cumulative: a present count replaces the one from message_start.
          if (value !== null && value !== undefined) (usage as Record<string, unknown>)[key] = value;
        }
      }
    },
    (completed) => {
      close();
      const step = getStep();
      if (step === undefined) return;
      if (usage === undefined || !sawDelta) {
        markUsageMissing(step, completed ? 'not_reported' : 'stream_incomplete', {
          model: options.model ?? defaults.requestModel ?? model,
          provider: options.provider ?? defaults.provider,
          source: defaults.source,
        });
        return;
      }
      recordObservedCall(step, observeAnthropicMessage({ model, usage }), defaults, options);
    },
  );
}
