/**
 * Span attribute names read and written by costspan. Inputs follow the
 * OpenTelemetry GenAI semantic conventions; costspan's own outputs live under
 * `llm.cost.*` and are never written under `gen_ai.usage.*` on run spans, so
 * backends that sum spans never count a cost twice.
 */
export const ATTR = {
  OPERATION_NAME: 'gen_ai.operation.name',
  AGENT_NAME: 'gen_ai.agent.name',
  AGENT_ID: 'gen_ai.agent.id',
  PROVIDER_NAME: 'gen_ai.provider.name',
  /** Older name of `gen_ai.provider.name`, still emitted by some instrumentations. */
  SYSTEM: 'gen_ai.system',
  REQUEST_MODEL: 'gen_ai.request.model',
  RESPONSE_MODEL: 'gen_ai.response.model',
  USAGE_INPUT_TOKENS: 'gen_ai.usage.input_tokens',
  USAGE_OUTPUT_TOKENS: 'gen_ai.usage.output_tokens',
  /** Pre-1.27 names still emitted by some instrumentations. */
  USAGE_PROMPT_TOKENS: 'gen_ai.usage.prompt_tokens',
  USAGE_COMPLETION_TOKENS: 'gen_ai.usage.completion_tokens',
  USAGE_CACHE_READ_TOKENS: 'gen_ai.usage.cache_read.input_tokens',
  USAGE_CACHE_CREATION_TOKENS: 'gen_ai.usage.cache_creation.input_tokens',
  USAGE_REASONING_TOKENS: 'gen_ai.usage.reasoning.output_tokens',
  /** Names other instrumentations use for the same buckets, read when the convention's name is absent. */
  USAGE_CACHE_WRITE_TOKENS_ANTHROPIC_SDK: 'gen_ai.usage.cache_write.input_tokens',
  USAGE_CACHE_WRITE_1H_TOKENS_ANTHROPIC_SDK: 'anthropic.usage.cache_creation.ephemeral_1h_input_tokens',
  USAGE_CACHE_READ_TOKENS_AI_SDK: 'ai.usage.inputTokenDetails.cacheReadTokens',
  USAGE_CACHE_WRITE_TOKENS_AI_SDK: 'ai.usage.inputTokenDetails.cacheWriteTokens',
  USAGE_REASONING_TOKENS_AI_SDK: 'ai.usage.outputTokenDetails.reasoningTokens',
  COST_AMOUNT: 'gen_ai.usage.cost.amount',
  COST_CURRENCY: 'gen_ai.usage.cost.currency',
  COST_SOURCE: 'gen_ai.usage.cost.source',

  PRICING_STATUS: 'llm.cost.pricing.status',
  PRINCIPAL_USER_ID: 'llm.cost.principal.user_id',
  PRINCIPAL_TEAM_ID: 'llm.cost.principal.team_id',
  PRINCIPAL_ORG_ID: 'llm.cost.principal.org_id',
  /** Principal tags as `key=value` strings. */
  PRINCIPAL_TAGS: 'llm.cost.principal.tags',
  SESSION_ID: 'session.id',

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
