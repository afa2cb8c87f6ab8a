/**
 * Span attribute names read and written by costspan: every OpenTelemetry convention name, with
 * the spec version it comes from and a link (tags below), then costspan's own `llm.cost.*`.
 * Inputs follow the OpenTelemetry GenAI semantic conventions; costspan's own outputs live under
 * `llm.cost.*` and are never written under `gen_ai.usage.*` on run spans, so backends that sum
 * spans never count a cost twice. Which GenAI set is emitted (released 1.45.0, or the latest
 * experimental one under `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`) is chosen
 * in `semconv.ts`; both are always read.
 *
 * Names are copied, not imported: OpenTelemetry asks instrumentations to copy incubating names
 * rather than depend on `@opentelemetry/semantic-conventions/incubating` at run time.
 *
 * - [1.45.0] released `@opentelemetry/semantic-conventions` 1.45.0 (experimental attributes):
 *   https://github.com/open-telemetry/opentelemetry-js/blob/semconv/v1.45.0/semantic-conventions/src/experimental_attributes.ts
 * - [genai] latest experimental GenAI conventions (open-telemetry/semantic-conventions-genai, main):
 *   https://github.com/open-telemetry/semantic-conventions-genai/blob/main/model/gen-ai/registry.yaml
 * - [openai] OpenAI-specific GenAI attributes: https://github.com/open-telemetry/semantic-conventions-genai/blob/main/docs/gen-ai/openai.md
 * - [cost] proposed GenAI cost attributes (not merged): https://github.com/open-telemetry/semantic-conventions-genai/pull/443
 * - [session] session conventions 1.45.0: https://github.com/open-telemetry/semantic-conventions/blob/v1.45.0/docs/registry/attributes/session.md
 */
export const ATTR = {
  /** 1.45.0 [1.45.0] and latest experimental [genai]. */
  OPERATION_NAME: 'gen_ai.operation.name',
  /** 1.45.0 [1.45.0] and latest experimental [genai]. */
  AGENT_NAME: 'gen_ai.agent.name',
  /** 1.45.0 [1.45.0] and latest experimental [genai]. */
  AGENT_ID: 'gen_ai.agent.id',
  /** 1.45.0 [1.45.0] and latest experimental [genai]; replaced `gen_ai.system` in 1.37.0. */
  PROVIDER_NAME: 'gen_ai.provider.name',
  /** Up to 1.36.0, deprecated since 1.37.0 [1.45.0]; still emitted by some instrumentations. Read only. */
  SYSTEM: 'gen_ai.system',
  /** 1.45.0 [1.45.0] and latest experimental [genai]. */
  REQUEST_MODEL: 'gen_ai.request.model',
  /** 1.45.0 [1.45.0] and latest experimental [genai]. */
  RESPONSE_MODEL: 'gen_ai.response.model',
  /** 1.45.0 [1.45.0] and latest experimental [genai]; includes cache reads and writes. */
  USAGE_INPUT_TOKENS: 'gen_ai.usage.input_tokens',
  /** 1.45.0 [1.45.0] and latest experimental [genai]; includes reasoning. */
  USAGE_OUTPUT_TOKENS: 'gen_ai.usage.output_tokens',
  /** Before 1.27.0, deprecated for `gen_ai.usage.input_tokens` [1.45.0]. Read only. */
  USAGE_PROMPT_TOKENS: 'gen_ai.usage.prompt_tokens',
  /** Before 1.27.0, deprecated for `gen_ai.usage.output_tokens` [1.45.0]. Read only. */
  USAGE_COMPLETION_TOKENS: 'gen_ai.usage.completion_tokens',
  /** 1.45.0 [1.45.0] and latest experimental [genai]. */
  USAGE_CACHE_READ_TOKENS: 'gen_ai.usage.cache_read.input_tokens',
  /** Cache writes, 1.45.0 [1.45.0]: emitted by default. */
  USAGE_CACHE_CREATION_TOKENS: 'gen_ai.usage.cache_creation.input_tokens',
  /** Cache writes, latest experimental [genai]: emitted under the opt-in (the Anthropic SDK's instrumentation writes it too). */
  USAGE_CACHE_WRITE_TOKENS: 'gen_ai.usage.cache_write.input_tokens',
  /** 1.45.0 [1.45.0] and latest experimental [genai]. */
  USAGE_REASONING_TOKENS: 'gen_ai.usage.reasoning.output_tokens',
  /** Former name of {@link ATTR.USAGE_CACHE_WRITE_TOKENS} here, kept for callers. */
  USAGE_CACHE_WRITE_TOKENS_ANTHROPIC_SDK: 'gen_ai.usage.cache_write.input_tokens',
  /** Names other instrumentations use for the same buckets, read when the convention's name is absent: the Anthropic SDK's. */
  USAGE_CACHE_WRITE_1H_TOKENS_ANTHROPIC_SDK: 'anthropic.usage.cache_creation.ephemeral_1h_input_tokens',
  /** The Vercel AI SDK's telemetry. */
  USAGE_CACHE_READ_TOKENS_AI_SDK: 'ai.usage.inputTokenDetails.cacheReadTokens',
  /** The Vercel AI SDK's telemetry. */
  USAGE_CACHE_WRITE_TOKENS_AI_SDK: 'ai.usage.inputTokenDetails.cacheWriteTokens',
  /** The Vercel AI SDK's telemetry. */
  USAGE_REASONING_TOKENS_AI_SDK: 'ai.usage.outputTokenDetails.reasoningTokens',
  /** The tier that served an OpenAI call (`default`, `flex`, `priority`, `scale`): 1.45.0 [1.45.0] and latest experimental [openai]. Read. */
  OPENAI_RESPONSE_SERVICE_TIER: 'openai.response.service_tier',
  /** Its name before 1.37.0, deprecated [1.45.0]. Read only. */
  OPENAI_RESPONSE_SERVICE_TIER_LEGACY: 'gen_ai.openai.response.service_tier',
  /** The tier of an Anthropic message (`standard`, `priority`, `batch`), as `@costspan/integrations` writes it. Read. */
  ANTHROPIC_RESPONSE_SERVICE_TIER: 'anthropic.response.service_tier',
  /** A call's cost, a double in `gen_ai.usage.cost.currency`: proposal [cost]. Written on steps, read on other spans. */
  COST_AMOUNT: 'gen_ai.usage.cost.amount',
  /** ISO 4217 currency of the cost (costspan writes and reads `USD` only): proposal [cost]. */
  COST_CURRENCY: 'gen_ai.usage.cost.currency',
  /** `provider` (in the response received), `local` (computed by the recorder); costspan adds `caller`, `mixed`: proposal [cost]. */
  COST_SOURCE: 'gen_ai.usage.cost.source',

  PRICING_STATUS: 'llm.cost.pricing.status',
  PRINCIPAL_USER_ID: 'llm.cost.principal.user_id',
  PRINCIPAL_TEAM_ID: 'llm.cost.principal.team_id',
  PRINCIPAL_ORG_ID: 'llm.cost.principal.org_id',
  /** Principal tags as `key=value` strings. */
  PRINCIPAL_TAGS: 'llm.cost.principal.tags',
  /** A run's session id, `session.id` 1.45.0 [session]; written in both sets (the GenAI opt-in does not govern it). */
  SESSION_ID: 'session.id',
  /** A run's session id in the GenAI namespace, latest experimental [genai]: written beside `session.id` under the opt-in, read always. */
  CONVERSATION_ID: 'gen_ai.conversation.id',

  /** On a step (or another instrumentation's span) whose model call ran but reported no usage. */
  USAGE_MISSING: 'llm.cost.usage.missing',
  /** Why the usage is missing: `not_reported`, `stream_incomplete` or `invalid`. */
  USAGE_MISSING_REASON: 'llm.cost.usage.missing_reason',
  /** On a step whose `reserve` a budget refused: the refusal, for the run's session event. */
  BUDGET_REFUSED: 'llm.cost.budget.refused',
  /** The refusing limit's type (`user_daily`, `per_request`, `circuit_breaker`, ...). */
  BUDGET_REFUSED_LIMIT_TYPE: 'llm.cost.budget.limit_type',
  /** Whose budget refused: `global`, `user:alice`, `session:<root run id>`, `request`, ... */
  BUDGET_REFUSED_SCOPE: 'llm.cost.budget.scope',
  /** The refusing window: `2026-03-04`, `2026-03`, `total`, `session`, `request`. */
  BUDGET_REFUSED_WINDOW: 'llm.cost.budget.window',
  /** Unit of the three amounts below: `usd` or `tokens`. */
  BUDGET_REFUSED_UNIT: 'llm.cost.budget.unit',
  /** The limit, as an exact decimal string. */
  BUDGET_REFUSED_LIMIT: 'llm.cost.budget.limit',
  /** Spent plus reserved in the window at refusal, as an exact decimal string. */
  BUDGET_REFUSED_CURRENT: 'llm.cost.budget.current',
  /** Spent in the window at refusal (without reservations), as an exact decimal string. */
  BUDGET_REFUSED_SPENT: 'llm.cost.budget.spent',
  /** Reserved by calls in flight at refusal, as an exact decimal string. */
  BUDGET_REFUSED_RESERVED: 'llm.cost.budget.reserved',
  /** What the refused call asked for, as an exact decimal string. */
  BUDGET_REFUSED_ATTEMPTED: 'llm.cost.budget.attempted',
} as const;

/** Prefix of the cost of a run's own work (its steps, not its nested runs). Summable across run spans. */
export const OWN_PREFIX = 'llm.cost.own.';
/** Prefix of a run's own cost plus every descendant's. Not summable. */
export const INCLUSIVE_PREFIX = 'llm.cost.inclusive.';

/** Value of `gen_ai.operation.name` on agent run spans. */
export const INVOKE_AGENT = 'invoke_agent';
