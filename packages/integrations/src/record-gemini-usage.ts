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

/** `usageMetadata` of a `@google/genai` response, structurally. */
export interface GeminiUsageLike {
  promptTokenCount?: number | null | undefined;
  candidatesTokenCount?: number | null | undefined;
  totalTokenCount?: number | null | undefined;
  /** Of the prompt, tokens read from a cached content (context caching). */
  cachedContentTokenCount?: number | null | undefined;
  /** Thinking tokens: billed as output, reported beside `candidatesTokenCount`. */
  thoughtsTokenCount?: number | null | undefined;
  /** Prompt tokens of tool results (function responses, search), billed as input. */
  toolUsePromptTokenCount?: number | null | undefined;
}

/** A `GenerateContentResponse` of `@google/genai` (or one chunk of its stream), structurally. */
export interface GeminiResponseLike {
  modelVersion?: string | null | undefined;
  usageMetadata?: GeminiUsageLike | null | undefined;
  /** A candidate with a `finishReason` marks the last chunk of a stream, whose usage is final. */
  candidates?: ReadonlyArray<{ finishReason?: string | null } | null> | null | undefined;
}

/** `gen_ai.provider.name` of the Gemini API in the OpenTelemetry conventions. */
const PROVIDER = 'gcp.gemini';

/** @internal Gemini's usage in the OpenTelemetry convention. */
export function geminiUsage(raw: GeminiUsageLike): TokenUsageInput | undefined {
  const prompt = tokenCount(raw.promptTokenCount);
  if (prompt === undefined) return undefined;
  const thoughts = tokenCount(raw.thoughtsTokenCount) ?? 0;
  // promptTokenCount includes the cached part; thinking tokens are outside candidatesTokenCount.
  return buildUsage({
    input: prompt + (tokenCount(raw.toolUsePromptTokenCount) ?? 0),
    output: (tokenCount(raw.candidatesTokenCount) ?? 0) + thoughts,
    total: tokenCount(raw.totalTokenCount),
    cacheRead: tokenCount(raw.cachedContentTokenCount),
    reasoning: thoughts,
  });
}

function observeGemini(response: GeminiResponseLike): ObservedCall {
  const raw = response.usageMetadata ?? undefined;
  return {
    responseModel: typeof response.modelVersion === 'string' && response.modelVersion !== '' ? response.modelVersion : undefined,
    usage: raw === undefined ? undefined : geminiUsage(raw),
    providerCost: undefined,
    attributes: {},
  };
}

/**
 * Records one `@google/genai` call (`ai.models.generateContent(...)`) on `step`: the prompt
 * (with tool-use prompt tokens) as input, `cachedContentTokenCount` as cache reads, and
 * `thoughtsTokenCount` as reasoning (added to the output, as Gemini bills it). The model is
 * `options.model`, else the response's `modelVersion`; the provider `gcp.gemini`.
 *
 * A response without `usageMetadata` is marked `llm.cost.usage.missing = true`, never $0.
 *
 * @returns the call as recorded, or `undefined` when the usage was missing or invalid
 * @throws CostspanError when the step has ended or `options` are invalid
 * @example
 * ```ts
 * const response = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents });
 * recordGeminiUsage(step, response, { model: 'gemini-2.5-flash' });
 * ```
 */
export function recordGeminiUsage(
  step: Step,
  response: GeminiResponseLike,
  options: UsageRecordOptions = {},
): RecordUsageInput | undefined {
  return recordObservedCall(step, observeGemini(response), { provider: PROVIDER, source: 'gemini' }, options);
}

/**
 * Records a `@google/genai` stream (`ai.models.generateContentStream(...)`) on `step` when it
 * has been read: its chunks carry the usage so far, and the last one counts. The stream is
 * returned as it is, its async iterator wrapped in place. A stream left early is marked
 * `stream_incomplete`, one without usage `not_reported`; one still unread when the step ends
 * counts as a call without usage (`stream_incomplete`) too, beside the step's other calls.
 *
 * @example
 * ```ts
 * const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents });
 * for await (const chunk of trackGeminiStream(step, stream, { model: 'gemini-2.5-flash' })) render(chunk.text);
 * ```
 */
export function trackGeminiStream<Stream extends AsyncIterable<GeminiResponseLike>>(
  step: Step,
  stream: Stream,
  options: UsageRecordOptions = {},
): Stream {
  const defaults: CallDefaults = { provider: PROVIDER, source: 'gemini_stream' };
  let last: GeminiResponseLike | undefined;
  let final = false;
  let model: string | undefined;
  // Open until the stream ends, however it ends: one the caller stops reading counts as a call without usage.
  const open = { model: options.model, provider: options.provider ?? PROVIDER };
  const close = openStreamCall(() => step, open);
  observeIteration(
    stream,
    (chunk) => {
      if (chunk === null || typeof chunk !== 'object') return;
      if (typeof chunk.modelVersion === 'string' && chunk.modelVersion !== '') {
        model = chunk.modelVersion;
        open.model ??= model;
      }
      if (chunk.usageMetadata) {
        last = chunk;
        const candidates: unknown = chunk.candidates;
        final =
          Array.isArray(candidates) &&
          (candidates as ReadonlyArray<{ finishReason?: unknown } | null>).some((candidate) => typeof candidate?.finishReason === 'string');
      }
    },
    (completed) => {
      close();
      // Usage counts of earlier chunks are partial; the finishing chunk's are the call's, even if the stream is cut after it.
      if (last === undefined || (!completed && !final)) {
        markUsageMissing(step, completed ? 'not_reported' : 'stream_incomplete', {
          model: options.model ?? model,
          provider: options.provider ?? PROVIDER,
          source: 'gemini_stream',
        });
        return;
      }
      recordObservedCall(
        step,
        observeGemini({ modelVersion: last.modelVersion ?? model, usageMetadata: last.usageMetadata }),
        defaults,
        options,
      );
    },
  );
  return stream;
}
