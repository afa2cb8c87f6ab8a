import { diag, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { usdToPico } from '@costspan/core';
import { ATTR } from '../attributes.js';
import type { RecordedCall } from '../tracing/span-state.js';

const logger = diag.createComponentLogger({ namespace: '@costspan/sdk' });

/** The AI SDK's span attribute with the provider metadata as JSON (where Anthropic's 1-hour cache writes are). */
const AI_SDK_PROVIDER_METADATA = 'ai.response.providerMetadata';
/** Larger metadata is not parsed: span processing stays cheap. */
const MAX_METADATA_LENGTH = 65_536;

/**
 * Reads a model call from the `gen_ai.usage.*` attributes of another instrumentation's span
 * (and the names the AI SDK and the Anthropic SDK use for the same buckets). Undefined when
 * the span carries no usage, or malformed usage (told through diag).
 */
export function callFromAttributes(span: ReadableSpan): RecordedCall | undefined {
  const attributes = span.attributes;
  const input = attributes[ATTR.USAGE_INPUT_TOKENS] ?? attributes[ATTR.USAGE_PROMPT_TOKENS];
  const output = attributes[ATTR.USAGE_OUTPUT_TOKENS] ?? attributes[ATTR.USAGE_COMPLETION_TOKENS];
  if (input === undefined && output === undefined) return undefined;
  const counts = {
    input: tokenCount(input ?? 0),
    output: tokenCount(output ?? 0),
    cacheRead: tokenCount(attributes[ATTR.USAGE_CACHE_READ_TOKENS] ?? attributes[ATTR.USAGE_CACHE_READ_TOKENS_AI_SDK] ?? 0),
    cacheWrite: tokenCount(
      // Both convention sets are read whichever one costspan emits: released, then latest experimental.
      attributes[ATTR.USAGE_CACHE_CREATION_TOKENS] ??
        attributes[ATTR.USAGE_CACHE_WRITE_TOKENS] ??
        attributes[ATTR.USAGE_CACHE_WRITE_TOKENS_AI_SDK] ??
        0,
    ),
    cacheWrite1h: tokenCount(attributes[ATTR.USAGE_CACHE_WRITE_1H_TOKENS_ANTHROPIC_SDK] ?? aiSdkCacheWrite1h(attributes) ?? 0),
    reasoning: tokenCount(attributes[ATTR.USAGE_REASONING_TOKENS] ?? attributes[ATTR.USAGE_REASONING_TOKENS_AI_SDK] ?? 0),
  };
  for (const [field, count] of Object.entries(counts)) {
    if (count === undefined) {
      logger.warn(`span "${span.name}" has a malformed ${field} token count; its usage is ignored`);
      return undefined;
    }
  }
  const usage = {
    input: counts.input as number,
    output: counts.output as number,
    ...(counts.cacheRead ? { cacheRead: counts.cacheRead } : {}),
    ...(counts.cacheWrite ? { cacheWrite: counts.cacheWrite } : {}),
    ...(counts.cacheWrite1h && counts.cacheWrite1h <= (counts.cacheWrite ?? 0) ? { cacheWrite1h: counts.cacheWrite1h } : {}),
    ...(counts.reasoning ? { reasoning: counts.reasoning } : {}),
  };
  if ((usage.cacheRead ?? 0) + (usage.cacheWrite ?? 0) > usage.input || (usage.reasoning ?? 0) > usage.output) {
    logger.warn(`span "${span.name}" reports cache or reasoning tokens beyond its input or output tokens; its usage is ignored`);
    return undefined;
  }
  if (!Number.isSafeInteger(usage.input + usage.output)) {
    logger.warn(`span "${span.name}" reports more tokens than can be counted exactly; its usage is ignored`);
    return undefined;
  }
  const givenCost = costOfAttributes(span, attributes);
  const source = attributes[ATTR.COST_SOURCE];
  const serviceTier = serviceTierOf(attributes);
  return {
    model: stringAttribute(attributes, ATTR.REQUEST_MODEL) ?? stringAttribute(attributes, ATTR.RESPONSE_MODEL) ?? 'unknown',
    provider: providerOf(attributes),
    responseModel: stringAttribute(attributes, ATTR.RESPONSE_MODEL),
    usage,
    totalTokens: usage.input + usage.output,
    cost: givenCost,
    costSource: givenCost === undefined ? undefined : (source as 'provider' | 'caller'),
    costTotalOnly: givenCost !== undefined,
    ...(serviceTier === undefined ? {} : { serviceTier }),
  };
}

/**
 * The cost another instrumentation put on its span under the proposed `gen_ai.usage.cost.*`
 * names, when costspan should book it instead of pricing the usage: a `provider` cost (present
 * in the response: a gateway's or the provider's own figure) or a `caller` one, in USD. A
 * `local` cost (computed by that instrumentation from its own table) or one without a source
 * is not taken: costspan's table prices the usage, so one table prices every call. A cost in
 * another currency cannot be booked in USD and is told once.
 */
function costOfAttributes(span: ReadableSpan, attributes: Attributes): RecordedCall['cost'] {
  const amount = attributes[ATTR.COST_AMOUNT];
  const source = attributes[ATTR.COST_SOURCE];
  if (source !== 'provider' && source !== 'caller') return undefined;
  const currency = attributes[ATTR.COST_CURRENCY];
  if (currency !== undefined && (typeof currency !== 'string' || currency.toUpperCase() !== 'USD')) {
    logger.warn(
      `span "${span.name}" reports its cost in ${String(currency)}, not USD: the cost is ignored and the usage priced by the table`,
    );
    return undefined;
  }
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0 || amount > MAX_EXACT_USD) return undefined;
  return { input: usdToPico(amount, ATTR.COST_AMOUNT), output: 0n, reasoning: 0n, cachedDiscount: 0n };
}

/** The served tier a span names: OpenAI's (current and pre-1.37 name), else Anthropic's. */
function serviceTierOf(attributes: Attributes): string | undefined {
  const tier =
    stringAttribute(attributes, ATTR.OPENAI_RESPONSE_SERVICE_TIER) ??
    stringAttribute(attributes, ATTR.OPENAI_RESPONSE_SERVICE_TIER_LEGACY) ??
    stringAttribute(attributes, ATTR.ANTHROPIC_RESPONSE_SERVICE_TIER);
  return tier !== undefined && tier.length <= 64 ? tier : undefined;
}

/** Largest amount a JSON number carries exactly to the pico-dollar (2^53 - 1 pico-USD). */
const MAX_EXACT_USD = Number.MAX_SAFE_INTEGER / 1e12;

/** The provider named by a span: `gen_ai.provider.name`, else the older `gen_ai.system`. */
export function providerOf(attributes: Attributes): string | undefined {
  return stringAttribute(attributes, ATTR.PROVIDER_NAME) ?? providerFromSystem(stringAttribute(attributes, ATTR.SYSTEM));
}

/**
 * Anthropic's 1-hour cache writes as the AI SDK reports them: only inside the provider
 * metadata (`anthropic.usage.cache_creation.ephemeral_1h_input_tokens`), which its
 * telemetry writes as JSON under `ai.response.providerMetadata`. `recordAiSdkUsage` reads
 * the same field, so both paths price them at the 1-hour rate.
 */
function aiSdkCacheWrite1h(attributes: Attributes): number | undefined {
  const text = attributes[AI_SDK_PROVIDER_METADATA];
  if (typeof text !== 'string' || text.length > MAX_METADATA_LENGTH || !text.includes('ephemeral_1h_input_tokens')) return undefined;
  try {
    const metadata = JSON.parse(text) as unknown;
    const oneHour = field(field(field(field(metadata, 'anthropic'), 'usage'), 'cache_creation'), 'ephemeral_1h_input_tokens');
    return typeof oneHour === 'number' ? oneHour : undefined;
  } catch {
    return undefined;
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

// The AI SDK writes `gen_ai.system` as `openai.chat`, `anthropic.messages`: the provider and its API.
// Other dotted values (`gcp.gemini`, `aws.bedrock`) are provider names and stay whole.
const AI_SDK_SYSTEM = /^(.+)\.(chat|messages|responses|completion|embedding|image|transcription|speech)$/;
function providerFromSystem(system: string | undefined): string | undefined {
  if (system === undefined) return undefined;
  return AI_SDK_SYSTEM.exec(system)?.[1] ?? system;
}

function tokenCount(value: unknown): number | undefined {
  const count = typeof value === 'string' ? Number(value) : value;
  return typeof count === 'number' && Number.isSafeInteger(count) && count >= 0 ? count : undefined;
}

/** A non-empty string attribute, else undefined. */
export function stringAttribute(attributes: Attributes, key: string): string | undefined {
  const value = attributes[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
