import type { RecordUsageInput, Step, TokenUsageInput } from '@costspan/sdk';
import { observeIteration } from './observe-iteration.js';
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

/** `usage` of a Bedrock Converse response or of a ConverseStream `metadata` event, structurally. */
export interface BedrockUsageLike {
  /** Input tokens not read from or written to the prompt cache. */
  inputTokens?: number | null | undefined;
  outputTokens?: number | null | undefined;
  totalTokens?: number | null | undefined;
  cacheReadInputTokens?: number | null | undefined;
  cacheWriteInputTokens?: number | null | undefined;
}

/** A `ConverseCommandOutput` of `@aws-sdk/client-bedrock-runtime`, structurally. */
export interface BedrockConverseResponseLike {
  usage?: BedrockUsageLike | null | undefined;
}

/** One event of a ConverseStream (`messageStart`, `contentBlockDelta`, ..., `metadata`), structurally. */
export interface BedrockStreamEventLike {
  metadata?: { usage?: BedrockUsageLike | null | undefined } | null | undefined;
}

/** A `ConverseStreamCommandOutput`, structurally: its `stream` of events. */
export interface BedrockConverseStreamResponseLike {
  stream?: AsyncIterable<BedrockStreamEventLike> | null | undefined;
}

/** Options of the Bedrock helpers: a Converse response does not name its model, so `model` is required. */
export interface BedrockUsageOptions extends UsageRecordOptions {
  /** The `modelId` of the request: a model id or an inference profile (`us.anthropic.claude-...`). */
  model: string;
}

/** `gen_ai.provider.name` of Amazon Bedrock in the OpenTelemetry conventions. */
const PROVIDER = 'aws.bedrock';

/** @internal Bedrock's usage in the OpenTelemetry convention: cache reads and writes are reported beside input. */
export function bedrockUsage(raw: BedrockUsageLike): TokenUsageInput | undefined {
  const uncached = tokenCount(raw.inputTokens);
  const output = tokenCount(raw.outputTokens);
  if (uncached === undefined || output === undefined) return undefined;
  const cacheRead = tokenCount(raw.cacheReadInputTokens) ?? 0;
  const cacheWrite = tokenCount(raw.cacheWriteInputTokens) ?? 0;
  return buildUsage({ input: uncached + cacheRead + cacheWrite, output, total: tokenCount(raw.totalTokens), cacheRead, cacheWrite });
}

function observeBedrock(usage: BedrockUsageLike | null | undefined): ObservedCall {
  return { responseModel: undefined, usage: usage ? bedrockUsage(usage) : undefined, providerCost: undefined, attributes: {} };
}

/**
 * Records one Bedrock Converse call (`client.send(new ConverseCommand(...))`) on `step`:
 * `inputTokens` plus `cacheReadInputTokens` and `cacheWriteInputTokens` as input (Bedrock reports
 * the cache beside input), cache reads and writes as their buckets. Converse reports no
 * reasoning split (reasoning is inside `outputTokens`). Pass the request's `modelId` as `model`.
 *
 * @returns the call as recorded, or `undefined` when the usage was missing or invalid
 * @throws CostspanError when the step has ended or `options` are invalid
 * @example
 * ```ts
 * const modelId = 'us.anthropic.claude-sonnet-4-20250514-v1:0';
 * recordBedrockConverseUsage(step, await bedrock.send(new ConverseCommand({ modelId, messages })), { model: modelId });
 * ```
 */
export function recordBedrockConverseUsage(
  step: Step,
  response: BedrockConverseResponseLike,
  options: BedrockUsageOptions,
): RecordUsageInput | undefined {
  return recordObservedCall(step, observeBedrock(response.usage), { provider: PROVIDER, source: 'bedrock' }, options);
}

/**
 * Records a Bedrock ConverseStream (`client.send(new ConverseStreamCommand(...))`) on `step`
 * once its `stream` has been read: the usage of the final `metadata` event. The response is
 * returned as it is, its stream's async iterator wrapped in place. A stream left before its
 * `metadata` event is marked `stream_incomplete`, one without it `not_reported`; one still unread
 * when the step ends counts as a call without usage (`stream_incomplete`) too.
 *
 * @example
 * ```ts
 * const response = trackBedrockConverseStream(step, await bedrock.send(new ConverseStreamCommand({ modelId, messages })), { model: modelId });
 * for await (const event of response.stream ?? []) render(event.contentBlockDelta?.delta?.text);
 * ```
 */
export function trackBedrockConverseStream<Response extends BedrockConverseStreamResponseLike>(
  step: Step,
  response: Response,
  options: BedrockUsageOptions,
): Response {
  const defaults: CallDefaults = { provider: PROVIDER, source: 'bedrock_stream' };
  const missing = (completed: boolean): void =>
    markUsageMissing(step, completed ? 'not_reported' : 'stream_incomplete', {
      model: options.model,
      provider: options.provider ?? PROVIDER,
      source: 'bedrock_stream',
    });
  const stream = response.stream;
  if (stream === undefined || stream === null) {
    missing(true);
    return response;
  }
  let usage: BedrockUsageLike | undefined;
  // Open until the stream ends, however it ends: one the caller stops reading counts as a call without usage.
  const close = openStreamCall(() => step, { model: options.model, provider: options.provider ?? PROVIDER });
  observeIteration(
    stream,
    (event) => {
      if (event !== null && typeof event === 'object' && event.metadata?.usage) usage = event.metadata.usage;
    },
    (completed) => {
      close();
      if (usage === undefined) missing(completed);
      else recordObservedCall(step, observeBedrock(usage), defaults, options);
    },
  );
  return response;
}
