import { CostspanError, type RecordUsageInput, type Step, type TokenUsageInput } from '@costspan/sdk';
import {
  buildUsage,
  markUsageMissing,
  openStreamCall,
  recordObservedCall,
  tokenCount,
  totalCost,
  usdAmount,
  type ObservedCall,
  type UsageRecordOptions,
} from './usage-recording.js';
import { notice } from '@costspan/sdk/internal';

/** A value or a promise of it: `streamText` results hold promises where `generateText` results hold values. */
export type MaybePromise<Value> = Value | PromiseLike<Value>;

/**
 * Usage as the Vercel AI SDK reports it, structurally: `inputTokens`,
 * `inputTokenDetails`, `outputTokens`, `outputTokenDetails` (AI SDK 6, already
 * in the OpenTelemetry convention), `cachedInputTokens` and `reasoningTokens`
 * (AI SDK 5), or `promptTokens` and `completionTokens` (AI SDK 4).
 */
export interface AiSdkUsageLike {
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  totalTokens?: number | undefined;
  inputTokenDetails?:
    { noCacheTokens?: number | undefined; cacheReadTokens?: number | undefined; cacheWriteTokens?: number | undefined } | undefined;
  outputTokenDetails?: { textTokens?: number | undefined; reasoningTokens?: number | undefined } | undefined;
  cachedInputTokens?: number | undefined;
  reasoningTokens?: number | undefined;
  promptTokens?: number | undefined;
  completionTokens?: number | undefined;
  /** The provider's own usage object (AI SDK 6). */
  raw?: unknown;
}

/** One step of an AI SDK result (`result.steps[i]`), structurally. */
export interface AiSdkStepLike {
  usage?: AiSdkUsageLike | undefined;
  providerMetadata?: Readonly<Record<string, unknown>> | undefined;
  /** The model of the step (AI SDK 6): provider id such as `openai.chat`, and model id. */
  model?: { readonly provider?: string; readonly modelId?: string } | undefined;
  response?: { readonly modelId?: string | undefined } | undefined;
}

/**
 * The result of `generateText` or `streamText`, structurally. For
 * `streamText`, the fields are promises that settle when the stream ends.
 */
export interface AiSdkResultLike {
  steps?: MaybePromise<readonly AiSdkStepLike[]> | undefined;
  totalUsage?: MaybePromise<AiSdkUsageLike | undefined>;
  usage?: MaybePromise<AiSdkUsageLike | undefined>;
  providerMetadata?: MaybePromise<Readonly<Record<string, unknown>> | undefined>;
  response?: MaybePromise<{ readonly modelId?: string | undefined } | undefined>;
}

/** AI SDK provider ids (the part before the first dot of `openai.chat`) to `gen_ai.provider.name`. */
const PROVIDER_NAMES: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  azure: 'azure.ai.openai',
  google: 'gcp.gemini',
  'google-vertex': 'gcp.vertex_ai',
  vertex: 'gcp.vertex_ai',
  'amazon-bedrock': 'aws.bedrock',
  bedrock: 'aws.bedrock',
  mistral: 'mistral_ai',
  xai: 'x_ai',
  groq: 'groq',
  deepseek: 'deepseek',
  perplexity: 'perplexity',
  cohere: 'cohere',
  openrouter: 'openrouter',
  gateway: 'gateway',
};

/**
 * Maps an AI SDK provider id (`openai.chat`, `anthropic.messages`,
 * `google.generative-ai`) to an OpenTelemetry `gen_ai.provider.name`.
 */
export function aiSdkProviderName(providerId: string): string {
  const [base = providerId] = providerId.split('.');
  return PROVIDER_NAMES[base] ?? base;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** @internal Reads one AI SDK step (or a whole single-step result) into the OpenTelemetry usage convention. */
export function observeAiSdkStep(step: AiSdkStepLike, provider: string | undefined): ObservedCall {
  const metadata = record(step.providerMetadata) ?? {};
  return {
    responseModel: step.response?.modelId ?? step.model?.modelId,
    usage: step.usage === undefined ? undefined : aiSdkUsage(step.usage, metadata, provider),
    providerCost: totalCost(
      usdAmount(record(record(metadata['openrouter'])?.['usage'])?.['cost']) ??
        usdAmount(record(metadata['gateway'])?.['cost']) ??
        usdAmount(record(step.usage?.raw)?.['cost']),
    ),
    attributes: {},
  };
}

function aiSdkUsage(usage: AiSdkUsageLike, metadata: Record<string, unknown>, provider: string | undefined): TokenUsageInput | undefined {
  const anthropic = record(metadata['anthropic']);
  const anthropicUsage = record(anthropic?.['usage']) ?? (provider === 'anthropic' ? record(usage.raw) : undefined);
  const oneHour = tokenCount(record(anthropicUsage?.['cache_creation'])?.['ephemeral_1h_input_tokens']);
  if (usage.inputTokenDetails !== undefined || usage.outputTokenDetails !== undefined) {
    // AI SDK 6: totals already include cache and reasoning tokens.
    const input = tokenCount(usage.inputTokens);
    if (input === undefined) return undefined;
    return buildUsage({
      input,
      output: tokenCount(usage.outputTokens) ?? 0,
      total: tokenCount(usage.totalTokens),
      cacheRead: tokenCount(usage.inputTokenDetails?.cacheReadTokens),
      cacheWrite: tokenCount(usage.inputTokenDetails?.cacheWriteTokens),
      cacheWrite1h: oneHour,
      reasoning: tokenCount(usage.outputTokenDetails?.reasoningTokens),
    });
  }
  // AI SDK 4 and 5: OpenAI counts include cached tokens; Anthropic's leave cache reads and writes out.
  const reported = tokenCount(usage.inputTokens ?? usage.promptTokens);
  if (reported === undefined) return undefined;
  const openai = record(metadata['openai']);
  const cacheRead =
    tokenCount(usage.cachedInputTokens) ??
    tokenCount(openai?.['cachedPromptTokens']) ??
    tokenCount(anthropic?.['cacheReadInputTokens']) ??
    0;
  const cacheWrite = tokenCount(anthropic?.['cacheCreationInputTokens']) ?? 0;
  const anthropicStyle = anthropic !== undefined || provider === 'anthropic';
  return buildUsage({
    input: anthropicStyle ? reported + cacheRead + cacheWrite : reported,
    output: tokenCount(usage.outputTokens ?? usage.completionTokens) ?? 0,
    cacheRead,
    cacheWrite,
    cacheWrite1h: oneHour,
    reasoning: tokenCount(usage.reasoningTokens) ?? tokenCount(openai?.['reasoningTokens']),
  });
}

/**
 * Records the usage of a Vercel AI SDK `generateText` or `streamText` result
 * on `step`: one call per entry of `result.steps` (a multi-step tool loop makes
 * several), or `totalUsage` / `usage` as one call when there are no steps.
 * Cache reads and writes and reasoning tokens come from the usage details
 * (AI SDK 6) or from `providerMetadata` (`openai.cachedPromptTokens`,
 * `openai.reasoningTokens`, `anthropic.cacheCreationInputTokens`; AI SDK 4 and
 * 5); Anthropic 1-hour cache writes from the raw Anthropic usage. A cost that a
 * gateway reports (`providerMetadata.openrouter.usage.cost`,
 * `providerMetadata.gateway.cost`) is recorded with
 * `gen_ai.usage.cost.source = provider`.
 *
 * For `streamText`, awaiting this reads the stream to its end (the AI SDK does
 * so when `result.steps` is awaited): await it inside the step's callback. A
 * stream that failed (its promises reject) is not thrown again here: the step is
 * marked `llm.cost.usage.missing = true` (`stream_incomplete`) and `[]` returned. A result that
 * has not settled when the step ends (this not awaited) counts as one call without usage
 * (`stream_incomplete`; pass `model` and `provider` to name it); the promise then resolves to `[]`
 * when the result settles, told once, and never rejects for it.
 *
 * Do not also turn on the AI SDK's `experimental_telemetry` with a tracer
 * whose provider has a `CostSpanProcessor`: its spans carry `gen_ai.usage.*`
 * and would be priced a second time.
 *
 * @returns the calls as recorded (calls whose usage was missing are marked on the span and left out)
 * @throws CostspanError when the step had ended before this was called, `options` are invalid, or
 * `options.cost` is given for a result of several steps
 * @example
 * ```ts
 * await run.step('answer', async (step) => {
 *   const result = await generateText({ model: openai('gpt-4o'), prompt, tools, stopWhen: stepCountIs(5) });
 *   await recordAiSdkUsage(step, result);
 *   return result.text;
 * });
 * ```
 */
export async function recordAiSdkUsage(step: Step, result: AiSdkResultLike, options: UsageRecordOptions = {}): Promise<RecordUsageInput[]> {
  let calls: AiSdkStepLike[];
  // Open until the result settles: a `streamText` whose usage the step did not wait for (the step
  // ended first) counts as a call without usage, beside the calls the step recorded.
  const close = openStreamCall(() => step, { model: options.model, provider: options.provider });
  const openAtStart = step.span.isRecording();
  let failed = false;
  try {
    calls = await resultCalls(result);
  } catch {
    failed = true;
    calls = [];
  }
  close();
  if (openAtStart && !step.span.isRecording()) {
    // Settled after its step ended (not awaited inside it): the open call was counted there without
    // usage. Resolve rather than reject, so a promise nobody awaits cannot crash the process.
    notice(
      'ai_sdk_usage_after_step',
      'recordAiSdkUsage settled after its step had ended: that call is counted without usage (stream_incomplete). Await recordAiSdkUsage inside the step callback to record its usage.',
    );
    return [];
  }
  if (failed) {
    // A `streamText` that failed (provider error, cut or aborted stream) rejects these promises, where
    // the caller's own reading of the stream did not throw: tell the call's usage as missing instead.
    markUsageMissing(step, 'stream_incomplete', { model: options.model, provider: options.provider, source: 'ai_sdk' });
    return [];
  }
  if (options.cost !== undefined && calls.length > 1) {
    throw new CostspanError({
      code: 'invalid_argument',
      field: 'options.cost',
      value: options.cost,
      message: `options.cost is the cost of one call, but the result has ${calls.length} steps; record them one by one with step-level costs`,
    });
  }
  const recorded: RecordUsageInput[] = [];
  for (const call of calls) {
    const provider =
      options.provider ??
      (call.model?.provider === undefined ? providerFromMetadata(call.providerMetadata) : aiSdkProviderName(call.model.provider));
    const requestModel = call.model?.modelId;
    const entry = recordObservedCall(step, observeAiSdkStep(call, provider), { provider, requestModel, source: 'ai_sdk' }, options);
    if (entry !== undefined) recorded.push(entry);
  }
  return recorded;
}

async function resultCalls(result: AiSdkResultLike): Promise<AiSdkStepLike[]> {
  const steps = (await result.steps) ?? [];
  if (steps.length > 0) return [...steps];
  return [
    {
      usage: (await result.totalUsage) ?? (await result.usage),
      providerMetadata: await result.providerMetadata,
      response: await result.response,
    },
  ];
}

function providerFromMetadata(metadata: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const keys = Object.keys(metadata ?? {});
  return keys.length === 1 && keys[0] !== undefined ? aiSdkProviderName(keys[0]) : undefined;
}
