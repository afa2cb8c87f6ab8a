import { diag, type AttributeValue } from '@opentelemetry/api';
import { ATTR, type CostInput, type RecordUsageInput, type Step, type TokenUsageInput } from '@costspan/sdk';
import { countUsageMissing, notice, openCall, validateTokenUsage, type OpenCall } from '@costspan/sdk/internal';

/**
 * Span attribute set to `true` on a step when a model call's usage could not be
 * recorded: the response or stream carried none (e.g. a Chat Completions
 * stream without `stream_options.include_usage`), the stream ended early, or
 * the counts were inconsistent. Such a call is never recorded as $0.
 * The same name as the SDK's `ATTR.USAGE_MISSING`, kept as an alias.
 */
export const USAGE_MISSING_ATTRIBUTE: typeof ATTR.USAGE_MISSING = ATTR.USAGE_MISSING;

/**
 * Why the usage is missing: `not_reported`, `stream_incomplete` or `invalid`.
 * The same name as the SDK's `ATTR.USAGE_MISSING_REASON`, kept as an alias.
 */
export const USAGE_MISSING_REASON_ATTRIBUTE: typeof ATTR.USAGE_MISSING_REASON = ATTR.USAGE_MISSING_REASON;

/** Why a call's usage could not be recorded; the value of {@link USAGE_MISSING_REASON_ATTRIBUTE}. */
export type UsageMissingReason = 'not_reported' | 'stream_incomplete' | 'invalid';

/** Options of the `record*Usage` and `track*Stream` helpers. */
export interface UsageRecordOptions {
  /**
   * Model requested (`gen_ai.request.model`), the name calls are reported under.
   * Default: the request's model when the helper saw the request (`instrumentOpenAI`,
   * the AI SDK), else the model the response names; for OpenAI without its snapshot
   * date (`gpt-4o-2024-08-06` → `gpt-4o`), so every path reports one name. The
   * response's model is kept beside it (`gen_ai.response.model`) and prices the call.
   */
  model?: string;
  /**
   * `gen_ai.provider.name`. Default: `openai` or `anthropic` for those helpers;
   * for the AI SDK, derived from the model's provider id (`openai.chat` → `openai`).
   * Set it when the client talks to a gateway (`openrouter`, `azure.ai.openai`, ...).
   */
  provider?: string;
  /**
   * Cost of the call, given by you; it wins over a provider-reported cost and
   * over the price table (`gen_ai.usage.cost.source = caller`).
   */
  cost?: CostInput;
}

const logger = diag.createComponentLogger({ namespace: '@costspan/integrations' });

/** Which helper saw a call: names the cause of a notice and picks the fix it suggests. */
export type UsageSource =
  'openai' | 'openai_stream' | 'anthropic' | 'anthropic_stream' | 'ai_sdk' | 'gemini' | 'gemini_stream' | 'bedrock' | 'bedrock_stream';

/** What a helper knows about a call besides its response. */
export interface CallDefaults {
  provider: string | undefined;
  /** The model the request named, when the helper saw the request. */
  requestModel?: string | undefined;
  source: UsageSource;
  /**
   * The requested name for a response's model when the request was not seen
   * (OpenAI: `gpt-4o-2024-08-06` → `gpt-4o`). Without it the response's model is the name.
   */
  modelFromResponse?: (responseModel: string) => string;
}

/** What a response said about one call, already in the OpenTelemetry usage convention. */
export interface ObservedCall {
  /** Model the response names. */
  responseModel: string | undefined;
  usage: TokenUsageInput | undefined;
  /** Cost reported by the provider or a gateway, in USD. */
  providerCost: CostInput | undefined;
  /** Extra span attributes, e.g. the service tier. */
  attributes: Record<string, AttributeValue>;
  /** The service tier that served the call, as the response reports it (`default`, `flex`, `priority`, `standard`, ...). */
  serviceTier?: string | undefined;
}

/** A tier name the SDK accepts (a short word); anything else a response says is left out, never thrown. */
const SERVICE_TIER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Records one observed call on `step`, or marks the step when the call has no
 * usable usage. Returns what was recorded.
 *
 * @throws CostspanError from the SDK for a step that has ended or invalid options
 */
export function recordObservedCall(
  step: Step,
  observed: ObservedCall,
  defaults: CallDefaults,
  options: UsageRecordOptions,
): RecordUsageInput | undefined {
  for (const [key, value] of Object.entries(observed.attributes)) step.span.setAttribute(key, value);
  // One model, one name: the requested model, whichever helper saw the call; the response's
  // (often dated) model goes beside it as `responseModel`, and the processor prices by that.
  const model = options.model ?? defaults.requestModel ?? requestedName(observed.responseModel, defaults);
  const provider = options.provider ?? defaults.provider;
  if (observed.usage === undefined || model === undefined) {
    markUsageMissing(step, 'not_reported', { model, provider, source: defaults.source });
    return undefined;
  }
  try {
    validateTokenUsage(observed.usage);
  } catch (error) {
    markUsageMissing(step, 'invalid', { model, provider, source: defaults.source }, error);
    return undefined;
  }
  const call: RecordUsageInput = { model, usage: observed.usage };
  if (provider !== undefined) call.provider = provider;
  if (observed.responseModel !== undefined) call.responseModel = observed.responseModel;
  if (observed.serviceTier !== undefined && SERVICE_TIER.test(observed.serviceTier)) call.serviceTier = observed.serviceTier;
  if (options.cost !== undefined) {
    call.cost = options.cost;
    call.costSource = 'caller';
  } else if (observed.providerCost !== undefined) {
    call.cost = observed.providerCost;
    call.costSource = 'provider';
  }
  step.recordUsage(call);
  return call;
}

function requestedName(responseModel: string | undefined, defaults: CallDefaults): string | undefined {
  if (responseModel === undefined || defaults.modelFromResponse === undefined) return responseModel;
  return defaults.modelFromResponse(responseModel) || responseModel;
}

/** The call whose usage is missing, as far as it is known. */
export interface MissingCall {
  model: string | undefined;
  provider: string | undefined;
  source: UsageSource;
}

/**
 * Marks `step` as having made a call whose usage is unknown, so that its cost
 * is visibly missing rather than silently $0, and tells a person once per cause
 * what to change (for an OpenAI stream: `stream_options: { include_usage: true }`).
 *
 * The cause is the SDK processor's own for such a span, `usage_missing:<provider>:<reason>`,
 * so the processor, seeing the marked span later, does not tell it a second time. Each call so
 * marked counts once: two streams left early in one step are two calls without usage.
 */
export function markUsageMissing(step: Step, reason: UsageMissingReason, call: MissingCall, cause?: unknown): void {
  countUsageMissing(step, { model: call.model, provider: call.provider, reason });
  step.span.setAttribute(ATTR.USAGE_MISSING, true);
  step.span.setAttribute(ATTR.USAGE_MISSING_REASON, reason);
  // The step did call this model: the processor's counts (usage_missing_call_count) then name it.
  if (call.model !== undefined) step.setModel(call.model, call.provider);
  else if (call.provider !== undefined) step.span.setAttribute(ATTR.PROVIDER_NAME, call.provider);
  // The error names the field and its type (the SDK's validation), never prompt text.
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  logger.debug(
    `step "${step.name}": usage of a ${call.model ?? 'model'} call is ${reason.replace('_', ' ')}${detail}; marked ${ATTR.USAGE_MISSING}=true`,
  );
  notice(`usage_missing:${call.provider ?? 'unknown'}:${reason}`, usageMissingMessage(reason, call.source, detail));
}

const SUFFIX = `: their cost is not counted (the steps are marked ${ATTR.USAGE_MISSING}=true).`;

function usageMissingMessage(reason: UsageMissingReason, source: UsageSource, detail: string): string {
  if (reason === 'invalid') {
    return `${describeSource(source)} reported inconsistent token counts${detail}${SUFFIX} Record the usage yourself with step.recordUsage().`;
  }
  if (reason === 'stream_incomplete') {
    return `${describeSource(source)} was left before its usage arrived${SUFFIX} Read the stream to its end inside the step.`;
  }
  switch (source) {
    case 'openai_stream':
      return `an OpenAI Chat Completions stream ended without usage${SUFFIX} Request it with stream_options: { include_usage: true }, or pass includeStreamUsage: true to instrumentOpenAI().`;
    case 'anthropic_stream':
      return `an Anthropic stream ended without its message_start/message_delta usage${SUFFIX} Pass the raw event stream (stream: true) to trackAnthropicStream(), or record finalMessage() with recordAnthropicUsage().`;
    case 'ai_sdk':
      return `an AI SDK result carried no usage${SUFFIX} Pass the awaited result (streamText: after the stream is read); for OpenAI-compatible providers that stream, enable usage in the provider (includeUsage: true).`;
    case 'openai':
      return `an OpenAI response carried no usage (some OpenAI-compatible servers leave it out)${SUFFIX} Record the usage yourself with step.recordUsage().`;
    case 'anthropic':
      return `an Anthropic message carried no usage${SUFFIX} Record the usage yourself with step.recordUsage().`;
    case 'gemini':
    case 'gemini_stream':
      return `a Gemini response carried no usageMetadata${SUFFIX} Record the usage yourself with step.recordUsage().`;
    case 'bedrock':
    case 'bedrock_stream':
      return `a Bedrock Converse response carried no usage (a stream's usage is in its final metadata event)${SUFFIX} Pass the model id as { model } and read the stream to its end.`;
  }
}

function describeSource(source: UsageSource): string {
  switch (source) {
    case 'openai':
      return 'an OpenAI response';
    case 'openai_stream':
      return 'an OpenAI stream';
    case 'anthropic':
      return 'an Anthropic message';
    case 'anthropic_stream':
      return 'an Anthropic stream';
    case 'ai_sdk':
      return 'an AI SDK result';
    case 'gemini':
      return 'a Gemini response';
    case 'gemini_stream':
      return 'a Gemini stream';
    case 'bedrock':
      return 'a Bedrock Converse response';
    case 'bedrock_stream':
      return 'a Bedrock ConverseStream';
  }
}

/**
 * Opens a streamed call on the step `getStep` returns: until the returned function is called
 * (when the stream ends, however it ends), the call counts as one with usage missing if the step
 * ends first, so a stream the caller stops reading is never a free call. `call.model` may be
 * set later, once the stream names it.
 */
export function openStreamCall(getStep: () => Step | undefined, call: OpenCall): () => void {
  try {
    const step = getStep();
    if (step !== undefined) return openCall(step, call);
  } catch (error) {
    reportRecordingError(error);
  }
  return () => undefined;
}

/** Reports a failure of automatic recording without throwing into the caller's code. */
export function reportRecordingError(error: unknown): void {
  try {
    logger.error('could not record usage', error);
  } catch {
    // Nothing further can be reported.
  }
}

/** A non-negative integer, or `undefined` for `null`, absent or malformed values. */
export function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** A USD amount reported by a provider (number or decimal string), or `undefined`. */
export function usdAmount(value: unknown): number | undefined {
  const amount = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof amount === 'number' && Number.isFinite(amount) && amount >= 0 ? amount : undefined;
}

/** Builds a usage object, leaving out zero buckets. */
export function buildUsage(counts: {
  input: number;
  output: number;
  total?: number | undefined;
  cacheRead?: number | undefined;
  cacheWrite?: number | undefined;
  cacheWrite1h?: number | undefined;
  reasoning?: number | undefined;
}): TokenUsageInput {
  const usage: TokenUsageInput = { input: counts.input, output: counts.output };
  if (counts.total !== undefined && counts.total !== counts.input + counts.output) usage.total = counts.total;
  if (counts.cacheRead) usage.cacheRead = counts.cacheRead;
  if (counts.cacheWrite) usage.cacheWrite = counts.cacheWrite;
  if (counts.cacheWrite1h) usage.cacheWrite1h = Math.min(counts.cacheWrite1h, counts.cacheWrite ?? 0);
  if (counts.reasoning) usage.reasoning = counts.reasoning;
  return usage;
}

/**
 * A provider-reported total cost. Providers rarely split it; the span processor splits it in
 * the price table's proportions when it knows the model, else books it as input.
 */
export function totalCost(amount: number | undefined): CostInput | undefined {
  return amount === undefined ? undefined : { totalUsd: amount };
}
