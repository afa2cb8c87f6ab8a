import { ATTR } from './attributes.js';

/**
 * Which version of the GenAI conventions costspan emits, chosen the way the GenAI spec's
 * transition rule asks of instrumentations: by default the names of the released conventions
 * (`@opentelemetry/semantic-conventions` {@link SEMCONV_RELEASED_VERSION}); when
 * `OTEL_SEMCONV_STABILITY_OPT_IN` contains `gen_ai_latest_experimental`, the latest experimental
 * names instead (the GenAI conventions' current drafts). Both sets are always read. The names
 * themselves, each with its spec version and link, are in `attributes.ts` (`ATTR`).
 */

/** Version of the released conventions emitted by default. */
export const SEMCONV_RELEASED_VERSION = '1.45.0';
/** The value in `OTEL_SEMCONV_STABILITY_OPT_IN` that selects the latest experimental GenAI names. */
export const GEN_AI_LATEST_EXPERIMENTAL = 'gen_ai_latest_experimental';

/** Which GenAI convention set is emitted. */
export type GenAiConventionSet = 'released' | 'latest_experimental';

/** The names costspan writes on spans that differ between the sets. */
export interface GenAiEmitNames {
  readonly set: GenAiConventionSet;
  /** Name of the cache-write input token count. */
  readonly cacheWriteInputTokens: string;
  /** GenAI name of a run's session id, written beside `session.id` when the set has one. */
  readonly conversationId: string | undefined;
}

const RELEASED_NAMES: GenAiEmitNames = Object.freeze({
  set: 'released',
  cacheWriteInputTokens: ATTR.USAGE_CACHE_CREATION_TOKENS,
  conversationId: undefined,
});

const EXPERIMENTAL_NAMES: GenAiEmitNames = Object.freeze({
  set: 'latest_experimental',
  cacheWriteInputTokens: ATTR.USAGE_CACHE_WRITE_TOKENS,
  conversationId: ATTR.CONVERSATION_ID,
});

/**
 * The GenAI names selected by an `OTEL_SEMCONV_STABILITY_OPT_IN` value, a comma-separated list
 * as OpenTelemetry JS's `semconvStabilityFromStr` reads it: the latest experimental names when it
 * contains `gen_ai_latest_experimental`, else the released ones. The tracer and the processor
 * call it once each, when constructed, never per span.
 *
 * @param optIn - the variable's value; default `process.env.OTEL_SEMCONV_STABILITY_OPT_IN`
 */
export function genAiEmitNames(optIn: string | undefined = readOptIn()): GenAiEmitNames {
  if (typeof optIn !== 'string') return RELEASED_NAMES;
  const values = optIn.split(',').map((value) => value.trim().toLowerCase());
  return values.includes(GEN_AI_LATEST_EXPERIMENTAL) ? EXPERIMENTAL_NAMES : RELEASED_NAMES;
}

function readOptIn(): string | undefined {
  // globalThis.process: the SDK may load where there is no process (edge runtimes, browsers).
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.OTEL_SEMCONV_STABILITY_OPT_IN;
}
