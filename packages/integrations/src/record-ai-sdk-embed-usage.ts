import type { RecordUsageInput, Step } from '@costspan/sdk';
import { aiSdkProviderName } from './record-ai-sdk-usage.js';
import { recordObservedCall, tokenCount, type UsageRecordOptions } from './usage-recording.js';

/** An AI SDK `embed()` or `embedMany()` result, structurally: its `usage.tokens`. */
export interface AiSdkEmbedResultLike {
  usage?: { tokens?: number | null | undefined } | null | undefined;
}

/** The AI SDK embedding model (`openai.embedding('text-embedding-3-small')`), structurally. */
export interface AiSdkEmbeddingModelLike {
  modelId: string;
  /** The provider id, e.g. `openai.embedding`. */
  provider?: string | undefined;
}

/** Options of {@link recordAiSdkEmbedUsage}: the result does not name its model, so `model` is required. */
export interface AiSdkEmbedOptions extends Omit<UsageRecordOptions, 'model'> {
  /** The model passed to `embed` / `embedMany`: the model object (its provider is read too) or its id. */
  model: string | AiSdkEmbeddingModelLike;
}

/**
 * Records an AI SDK `embed()` or `embedMany()` result on `step`: `usage.tokens` as input tokens,
 * no output. `embedMany` splits large inputs into several requests (`maxEmbeddingsPerCall`) and
 * reports their sum: it is recorded as one call, which costs the same since embeddings are
 * priced per input token. A result without usage is marked `llm.cost.usage.missing`, never $0.
 *
 * @returns the call as recorded, or `undefined` when the usage was missing
 * @throws CostspanError when the step has ended or `options` are invalid
 * @example
 * ```ts
 * const model = openai.embedding('text-embedding-3-small');
 * recordAiSdkEmbedUsage(step, await embedMany({ model, values }), { model });
 * ```
 */
export function recordAiSdkEmbedUsage(step: Step, result: AiSdkEmbedResultLike, options: AiSdkEmbedOptions): RecordUsageInput | undefined {
  const model = typeof options.model === 'string' ? options.model : options.model.modelId;
  const providerId = typeof options.model === 'string' ? undefined : options.model.provider;
  const tokens = tokenCount(result.usage?.tokens);
  return recordObservedCall(
    step,
    {
      responseModel: undefined,
      usage: tokens === undefined ? undefined : { input: tokens, output: 0 },
      providerCost: undefined,
      attributes: {},
    },
    { provider: providerId === undefined ? undefined : aiSdkProviderName(providerId), source: 'ai_sdk', requestModel: model },
    { ...options, model },
  );
}
