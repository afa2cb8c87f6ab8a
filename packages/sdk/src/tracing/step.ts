import { trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { CostspanError, formatPico, usdToPico } from '@costspan/core';
import { estimateCost, estimateTokens, type EstimateInput, type PriceSource } from '@costspan/pricing';
import type { AgentRun } from './agent-run.js';
import { ATTR } from '../attributes.js';
import { genAiEmitNames, type GenAiEmitNames } from '../semconv.js';
import type { BudgetReservation } from '../budget-gate.js';
import { ScopeContext, STEP_KEY } from './run-scope.js';
import { stepStates, type RecordedCall, type StepState } from './span-state.js';
import {
  validateCost,
  validateName,
  validateServiceTier,
  validateTokenUsage,
  type CostInput,
  type TokenUsageInput,
} from './usage-input.js';

/** Options of a step. */
export interface StepOptions {
  /** `gen_ai.operation.name` of the step: `chat` (default once a model call is recorded), `embeddings`, `execute_tool`, ... */
  operation?: string;
  /** More attributes for the step span. */
  attributes?: Attributes;
}

/** One model call, for steps that make several. */
export interface RecordUsageInput {
  model: string;
  /** `gen_ai.provider.name`: `openai`, `anthropic`, `gcp.gemini`, `aws.bedrock`, ... */
  provider?: string;
  /** Model that answered, when it differs from the one requested (e.g. a dated version). */
  responseModel?: string;
  usage: TokenUsageInput;
  /** Cost when known; it wins over the price table. */
  cost?: CostInput;
  /** Who gave `cost`: `caller` (default) or `provider` (e.g. a gateway's reported cost). */
  costSource?: 'caller' | 'provider';
  /**
   * The service tier that served the call, as the response reports it (OpenAI's `service_tier`:
   * `default`, `flex`, `priority`, `scale`; Anthropic's `standard`, `priority`, `batch`). The call
   * is priced at that tier (see `serviceTierMultipliers` of `createDefaultPriceSource`) and its
   * token event carries it as `service_tier`.
   */
  serviceTier?: string;
}

/**
 * What a step expects to spend, reserved against the run's budget: an estimate you computed
 * (`estimatedUsd`, `estimatedTokens`), or the call itself (`model`, `input`, `maxOutputTokens`),
 * which `@costspan/pricing` turns into an upper-bound estimate.
 */
export interface ReserveInput {
  /** Estimated cost in USD. */
  estimatedUsd?: number | string;
  /** Estimated tokens. */
  estimatedTokens?: number;
  /** Model of the coming call, to estimate from `input` and `maxOutputTokens`. */
  model?: string;
  /** Provider of `model` (helps pick the tokenizer and the price). */
  provider?: string;
  /** The prompt: text or chat messages. */
  input?: EstimateInput;
  /** The call's output cap; every output token is assumed spent. Default 0. */
  maxOutputTokens?: number;
  /** Prices for the estimate. Default: the shared table of `@costspan/pricing`. */
  priceSource?: PriceSource;
}

/**
 * A unit of work inside an agent run, usually one model call: a span whose
 * usage and cost the {@link CostSpanProcessor} prices and rolls up.
 */
export class Step {
  /** The step's name. */
  readonly name: string;
  /** The step's span. */
  readonly span: Span;
  /** The run the step belongs to. */
  readonly run: AgentRun;
  /** @internal The OTel context of the step's callback: its span, its run, itself. */
  readonly context: Context;
  private readonly state: StepState = { calls: [], current: {}, reservations: [] };
  private readonly operation: string | undefined;
  private readonly names: GenAiEmitNames;
  private ended = false;

  /**
   * @internal
   * @param names - the GenAI names to write, chosen once by the tracer from `OTEL_SEMCONV_STABILITY_OPT_IN`
   */
  // eslint-disable-next-line @typescript-eslint/max-params -- internal: only the tracer constructs steps
  constructor(name: string, span: Span, run: AgentRun, operation: string | undefined, parentContext: Context, names?: GenAiEmitNames) {
    this.names = names ?? genAiEmitNames();
    this.name = name;
    this.span = span;
    this.run = run;
    this.operation = operation;
    this.context = new ScopeContext(trace.setSpan(parentContext, span), STEP_KEY, this, undefined);
    stepStates.set(span, this.state);
  }

  /** Sets the model of the step's call (`gen_ai.request.model`, `gen_ai.provider.name`). */
  setModel(name: string, provider?: string): this {
    this.assertOpen();
    validateName(name, 'model');
    if (provider !== undefined) validateName(provider, 'provider');
    this.state.current.model = name;
    this.state.current.provider = provider;
    const attributes: Attributes = { [ATTR.REQUEST_MODEL]: name };
    if (provider !== undefined) attributes[ATTR.PROVIDER_NAME] = provider;
    if (this.operation === undefined) attributes[ATTR.OPERATION_NAME] = 'chat';
    this.span.setAttributes(attributes);
    return this;
  }

  /**
   * Sets the token usage of the step's call, in the OpenTelemetry convention
   * (input includes cache tokens, output includes reasoning).
   *
   * @throws CostspanError `invalid_tokens` naming the field and value
   */
  setTokenUsage(usage: TokenUsageInput): this {
    this.assertOpen();
    const checked = validateTokenUsage(usage);
    this.state.current.usage = checked.usage;
    this.state.current.totalTokens = checked.total;
    this.writeUsageAttributes();
    return this;
  }

  /**
   * Sets the cost of the step's call as given by the caller; it wins over the price table.
   *
   * @throws CostspanError `invalid_cost` naming the field and value
   */
  setCost(cost: CostInput, source: 'caller' | 'provider' = 'caller'): this {
    this.assertOpen();
    const checked = validateCost(cost);
    this.state.current.cost = checked.cost;
    this.state.current.costTotalOnly = checked.totalOnly;
    this.state.current.costSource = source;
    return this;
  }

  /**
   * Sets the service tier that served the step's call (`flex`, `priority`, `default`, ...), as
   * the response reports it: the call is priced at that tier and its token event says so.
   *
   * @throws CostspanError `invalid_name` naming `serviceTier`
   */
  setServiceTier(tier: string): this {
    this.assertOpen();
    this.state.current.serviceTier = validateServiceTier(tier);
    return this;
  }

  /**
   * Records one more model call made by this step; each becomes its own
   * `llm.cost.token.recorded` event.
   *
   * @throws CostspanError for an empty model or invalid usage or cost
   */
  recordUsage(call: RecordUsageInput): this {
    this.assertOpen();
    const model = validateName(call.model, 'model');
    const checked = validateTokenUsage(call.usage);
    const cost = call.cost === undefined ? undefined : validateCost(call.cost);
    const recorded: RecordedCall = {
      model,
      provider: call.provider === undefined ? undefined : validateName(call.provider, 'provider'),
      responseModel: call.responseModel,
      usage: checked.usage,
      totalTokens: checked.total,
      cost: cost?.cost,
      costSource: call.cost === undefined ? undefined : (call.costSource ?? 'caller'),
      costTotalOnly: cost?.totalOnly ?? false,
    };
    if (call.serviceTier !== undefined) recorded.serviceTier = validateServiceTier(call.serviceTier, 'serviceTier');
    this.state.calls.push(recorded);
    if (this.state.current.model === undefined) {
      this.span.setAttribute(ATTR.REQUEST_MODEL, model);
      if (recorded.provider !== undefined) this.span.setAttribute(ATTR.PROVIDER_NAME, recorded.provider);
    }
    if (this.operation === undefined) this.span.setAttribute(ATTR.OPERATION_NAME, 'chat');
    this.writeUsageAttributes();
    return this;
  }

  /**
   * Reserves budget for the coming call against the run's budget (a no-op
   * without one). The reservation is settled with the real cost when the step
   * ends, or released if no call was recorded.
   *
   * @throws CostspanError `budget_exceeded` when the call would overspend: do not make it. The
   *   refusal (limit, scope, window, amounts) is also written on the step span as
   *   `llm.cost.budget.*`, so the run's session event shows why the run stopped.
   */
  async reserve(estimate: ReserveInput): Promise<void> {
    this.assertOpen();
    const budget = this.run.budget;
    let estimatedUsd = estimate.estimatedUsd === undefined ? undefined : usdToPico(estimate.estimatedUsd, 'estimatedUsd');
    let estimatedTokens = estimate.estimatedTokens;
    if (estimatedTokens !== undefined) validateTokenUsage({ input: estimatedTokens, output: 0 }, 'estimatedTokens');
    if (budget === undefined) return;
    if (estimatedUsd === undefined && estimate.model !== undefined && estimate.input !== undefined) {
      const options = {
        ...(estimate.provider === undefined ? {} : { provider: estimate.provider }),
        ...(estimate.priceSource === undefined ? {} : { source: estimate.priceSource }),
      };
      const priced = await estimateCost(estimate.model, estimate.input, estimate.maxOutputTokens ?? 0, options);
      if (priced.status === 'priced') {
        estimatedUsd = priced.total;
        estimatedTokens ??= priced.inputTokens + priced.outputTokens;
      } else {
        estimatedTokens ??= (await estimateTokens(estimate.input, estimate.model, options)) + (estimate.maxOutputTokens ?? 0);
      }
    }
    // The model limits and history of the budget key on them.
    const model = estimate.model ?? this.state.current.model;
    let reservation: BudgetReservation;
    try {
      reservation = await budget.reserve({
        principal: this.run.principal,
        runId: this.run.id,
        rootRunId: this.run.rootId,
        agentName: this.run.name,
        step: this.name,
        ...(model === undefined ? {} : { model }),
        ...(estimatedUsd === undefined ? {} : { estimatedUsd }),
        ...(estimatedTokens === undefined ? {} : { estimatedTokens }),
      });
    } catch (error) {
      markBudgetRefused(this.span, error);
      throw error;
    }
    if (this.ended) budget.release(reservation);
    else this.state.reservations.push(reservation);
  }

  /** @internal */
  end(): void {
    this.ended = true;
  }

  private writeUsageAttributes(): void {
    let input = 0;
    let output = 0;
    let cacheRead = 0;
    let cacheWrite = 0;
    let reasoning = 0;
    const calls = this.state.current.usage === undefined ? this.state.calls : [...this.state.calls, this.state.current as RecordedCall];
    for (const call of calls) {
      input += call.usage.input;
      output += call.usage.output;
      cacheRead += call.usage.cacheRead ?? 0;
      cacheWrite += call.usage.cacheWrite ?? 0;
      reasoning += call.usage.reasoning ?? 0;
    }
    const attributes: Attributes = { [ATTR.USAGE_INPUT_TOKENS]: input, [ATTR.USAGE_OUTPUT_TOKENS]: output };
    if (cacheRead > 0) attributes[ATTR.USAGE_CACHE_READ_TOKENS] = cacheRead;
    if (cacheWrite > 0) attributes[this.names.cacheWriteInputTokens] = cacheWrite;
    if (reasoning > 0) attributes[ATTR.USAGE_REASONING_TOKENS] = reasoning;
    this.span.setAttributes(attributes);
  }

  private assertOpen(): void {
    if (this.ended) {
      throw new CostspanError({
        code: 'no_active_run',
        message: `step "${this.name}" of run "${this.run.name}" has ended; record usage inside the step callback`,
      });
    }
  }
}

/** What a budget refusal carries, read by shape: the SDK does not depend on `@costspan/budget`. */
interface RefusalFields {
  limitType?: unknown;
  scope?: unknown;
  window?: unknown;
  unit?: unknown;
  limitExact?: unknown;
  currentExact?: unknown;
  attemptedExact?: unknown;
  spentExact?: unknown;
  reservedExact?: unknown;
}

/**
 * The calls a step recorded, for the processor at the step's end: those recorded with
 * `recordUsage`, plus the one built up with `setModel` / `setTokenUsage` / `setCost`. Token
 * counts are handed over as `setTokenUsage` stored them.
 */
export function recordedCalls(state: StepState): RecordedCall[] {
  const current = state.current;
  if (current.usage === undefined && current.cost === undefined) return state.calls;
  return [
    ...state.calls,
    {
      model: current.model ?? 'unknown',
      provider: current.provider,
      responseModel: current.responseModel,
      usage: current.usage ?? { input: 0, output: 0 },
      totalTokens: current.totalTokens ?? (current.usage === undefined ? 0 : current.usage.input + current.usage.output),
      cost: current.cost,
      costSource: current.costSource,
      costTotalOnly: current.costTotalOnly,
      ...(current.serviceTier === undefined ? {} : { serviceTier: current.serviceTier }),
    },
  ];
}

/**
 * Writes a `budget_exceeded` refusal on the step span (`BudgetExceededError`'s fields, any
 * copy of `@costspan/budget`, or any gate's error with the same fields), amounts as exact
 * decimal strings: USD from pico-USD, tokens as integers. Other errors leave the span as is.
 */
function markBudgetRefused(span: Span, error: unknown): void {
  if (!CostspanError.isInstance(error) || error.code !== 'budget_exceeded') return;
  const refusal = error as RefusalFields;
  const attributes: Attributes = { [ATTR.BUDGET_REFUSED]: true };
  if (typeof refusal.limitType === 'string') attributes[ATTR.BUDGET_REFUSED_LIMIT_TYPE] = refusal.limitType;
  if (typeof refusal.scope === 'string') attributes[ATTR.BUDGET_REFUSED_SCOPE] = refusal.scope;
  if (typeof refusal.window === 'string') attributes[ATTR.BUDGET_REFUSED_WINDOW] = refusal.window;
  const unit = refusal.unit;
  if (unit === 'usd' || unit === 'tokens') {
    attributes[ATTR.BUDGET_REFUSED_UNIT] = unit;
    const exact = (amount: unknown): string | undefined =>
      typeof amount !== 'bigint' ? undefined : unit === 'usd' ? formatPico(amount) : amount.toString();
    const limit = exact(refusal.limitExact);
    const current = exact(refusal.currentExact);
    const attempted = exact(refusal.attemptedExact);
    if (limit !== undefined) attributes[ATTR.BUDGET_REFUSED_LIMIT] = limit;
    if (current !== undefined) attributes[ATTR.BUDGET_REFUSED_CURRENT] = current;
    if (attempted !== undefined) attributes[ATTR.BUDGET_REFUSED_ATTEMPTED] = attempted;
    const spent = exact(refusal.spentExact);
    const reserved = exact(refusal.reservedExact);
    if (spent !== undefined) attributes[ATTR.BUDGET_REFUSED_SPENT] = spent;
    if (reserved !== undefined) attributes[ATTR.BUDGET_REFUSED_RESERVED] = reserved;
  }
  span.setAttributes(attributes);
}
