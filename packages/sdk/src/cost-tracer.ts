import {
  context,
  createContextKey,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { CostspanError, usdToPico } from '@costspan/core';
import { estimateCost, estimateTokens, type EstimateInput, type PriceSource } from '@costspan/pricing';
import { ATTR, INVOKE_AGENT } from './attributes.js';
import type { BudgetGate, Principal } from './budget-gate.js';
import { createEventIdGenerator } from './cost-event.js';
import { mergePrincipals, principalToAttributes, validatePrincipal } from './principal.js';
import { runStates, stepStates, type RecordedCall, type StepState } from './span-state.js';
import {
  validateCost,
  validateName,
  validateTokenUsage,
  type CostInput,
  type TokenUsageInput,
} from './usage-input.js';
import { SDK_NAME, SDK_VERSION } from './version.js';

/** Options of {@link createCostTracer}. */
export interface CostTracerOptions {
  /** Provider whose tracer makes the spans. Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Instrumentation scope name. Default `@costspan/sdk`. */
  instrumentationName?: string;
}

/** Options of an agent run. */
export interface AgentRunOptions {
  /** Who the run is for; inherited by nested runs, whose own fields win. */
  principal?: Principal;
  /** Budget checked by `step.reserve` and charged with every priced call of the run and its nested runs. */
  budget?: BudgetGate;
  /** Run id (`gen_ai.agent.id`). Default: a new ULID. */
  runId?: string;
  /** Conversation or session id, written as `session.id` and on events as `session_id`. */
  sessionId?: string;
  /** More attributes for the run span. */
  attributes?: Attributes;
}

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

const RUN_KEY = createContextKey('costspan.agent_run');
const STEP_KEY = createContextKey('costspan.step');

type Callback<Subject, Result> = (subject: Subject) => Result;

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
  private readonly state: StepState = { calls: [], current: {}, reservations: [] };
  private readonly operation: string | undefined;
  private ended = false;

  /** @internal */
  constructor(name: string, span: Span, run: AgentRun, operation: string | undefined) {
    this.name = name;
    this.span = span;
    this.run = run;
    this.operation = operation;
    stepStates.set(span, this.state);
  }

  /** Sets the model of the step's call (`gen_ai.request.model`, `gen_ai.provider.name`). */
  setModel(name: string, provider?: string): this {
    this.assertOpen();
    validateName(name, 'model');
    if (provider !== undefined) validateName(provider, 'provider');
    this.state.current.model = name;
    this.state.current.provider = provider;
    this.span.setAttribute(ATTR.REQUEST_MODEL, name);
    if (provider !== undefined) this.span.setAttribute(ATTR.PROVIDER_NAME, provider);
    if (this.operation === undefined) this.span.setAttribute(ATTR.OPERATION_NAME, 'chat');
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
   * @throws CostspanError `budget_exceeded` when the call would overspend: do not make it
   */
  async reserve(estimate: ReserveInput): Promise<void> {
    this.assertOpen();
    const budget = this.run.budget;
    let estimatedUsd = estimate.estimatedUsd === undefined ? undefined : usdToPico(estimate.estimatedUsd, 'estimatedUsd');
    let estimatedTokens = estimate.estimatedTokens;
    if (estimatedTokens !== undefined) validateTokenUsage({ input: estimatedTokens, output: 0 }, 'estimatedTokens');
    if (budget === undefined) return;
    if (estimatedUsd === undefined && estimate.model !== undefined && estimate.input !== undefined) {
      const options = { ...(estimate.provider === undefined ? {} : { provider: estimate.provider }), ...(estimate.priceSource === undefined ? {} : { source: estimate.priceSource }) };
      const priced = await estimateCost(estimate.model, estimate.input, estimate.maxOutputTokens ?? 0, options);
      if (priced.status === 'priced') {
        estimatedUsd = priced.total;
        estimatedTokens ??= priced.inputTokens + priced.outputTokens;
      } else {
        estimatedTokens ??= (await estimateTokens(estimate.input, estimate.model, options)) + (estimate.maxOutputTokens ?? 0);
      }
    }
    const reservation = await budget.reserve({
      principal: this.run.principal,
      runId: this.run.id,
      rootRunId: this.run.rootId,
      agentName: this.run.name,
      ...(estimatedUsd === undefined ? {} : { estimatedUsd }),
      ...(estimatedTokens === undefined ? {} : { estimatedTokens }),
    });
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
    this.span.setAttribute(ATTR.USAGE_INPUT_TOKENS, input);
    this.span.setAttribute(ATTR.USAGE_OUTPUT_TOKENS, output);
    if (cacheRead > 0) this.span.setAttribute(ATTR.USAGE_CACHE_READ_TOKENS, cacheRead);
    if (cacheWrite > 0) this.span.setAttribute(ATTR.USAGE_CACHE_CREATION_TOKENS, cacheWrite);
    if (reasoning > 0) this.span.setAttribute(ATTR.USAGE_REASONING_TOKENS, reasoning);
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

/** An agent run: a span (`invoke_agent {name}`) whose steps and nested runs roll up into it. */
export class AgentRun {
  /** Run id (`gen_ai.agent.id`), a ULID unless given. */
  readonly id: string;
  /** Id of the outermost run (the session). */
  readonly rootId: string;
  /** Run name (`gen_ai.agent.name`). */
  readonly name: string;
  /** The run's span. */
  readonly span: Span;
  /** Effective principal: this run's fields over its parent's. */
  readonly principal: Principal;
  /** Budget of this run or the nearest enclosing run with one. */
  readonly budget: BudgetGate | undefined;
  /** @internal */
  readonly context: Context;
  private readonly tracer: CostTracer;
  private ended = false;

  /** @internal */
  constructor(init: {
    id: string;
    rootId: string;
    name: string;
    span: Span;
    principal: Principal;
    budget: BudgetGate | undefined;
    context: Context;
    tracer: CostTracer;
  }) {
    this.id = init.id;
    this.rootId = init.rootId;
    this.name = init.name;
    this.span = init.span;
    this.principal = init.principal;
    this.budget = init.budget;
    this.tracer = init.tracer;
    // A nested run starts outside any step of its parent.
    this.context = init.context.setValue(RUN_KEY, this).deleteValue(STEP_KEY);
  }

  /** Runs `fn` as a step of this run (a child span). The callback's value passes through. */
  step<Result>(name: string, fn: Callback<Step, Result>): Result;
  step<Result>(name: string, options: StepOptions, fn: Callback<Step, Result>): Result;
  step<Result>(name: string, optionsOrFn: StepOptions | Callback<Step, Result>, maybeFn?: Callback<Step, Result>): Result {
    const [options, fn] = splitArguments(optionsOrFn, maybeFn, 'step');
    if (this.ended) {
      throw new CostspanError({ code: 'no_active_run', message: `run "${this.name}" has ended; start steps inside its callback` });
    }
    return this.tracer.startStep(this, name, options, fn);
  }

  /** Runs `fn` as an agent run nested in this one. */
  agentRun<Result>(name: string, fn: Callback<AgentRun, Result>): Result;
  agentRun<Result>(name: string, options: AgentRunOptions, fn: Callback<AgentRun, Result>): Result;
  agentRun<Result>(
    name: string,
    optionsOrFn: AgentRunOptions | Callback<AgentRun, Result>,
    maybeFn?: Callback<AgentRun, Result>,
  ): Result {
    const [options, fn] = splitArguments(optionsOrFn, maybeFn, 'agentRun');
    if (this.ended) {
      throw new CostspanError({ code: 'no_active_run', message: `run "${this.name}" has ended; start nested runs inside its callback` });
    }
    return this.tracer.startRun(name, options, fn, this);
  }

  /** @internal */
  end(): void {
    this.ended = true;
  }
}

/**
 * Makes agent runs and steps as spans of your tracer provider.
 *
 * @example
 * ```ts
 * const tracer = createCostTracer({ tracerProvider: provider });
 * const answer = await tracer.agentRun('support-bot', { principal: { userId: 'alice' } }, async (run) => {
 *   return run.step('answer', async (step) => {
 *     step.setModel('gpt-4o', 'openai');
 *     step.setTokenUsage({ input: 500, output: 200 });
 *     return 'done';
 *   });
 * });
 * ```
 */
export class CostTracer {
  private readonly tracer: Tracer;
  private readonly nextRunId = createEventIdGenerator();

  constructor(options: CostTracerOptions = {}) {
    const provider = options.tracerProvider ?? trace.getTracerProvider();
    this.tracer = provider.getTracer(options.instrumentationName ?? SDK_NAME, SDK_VERSION);
  }

  /**
   * Runs `fn` as an agent run: a span `invoke_agent {name}` nested in the
   * active run or span, if any. Sync or async; the value passes through; an
   * error marks the span ERROR, still records the cost, and is rethrown.
   */
  agentRun<Result>(name: string, fn: Callback<AgentRun, Result>): Result;
  agentRun<Result>(name: string, options: AgentRunOptions, fn: Callback<AgentRun, Result>): Result;
  agentRun<Result>(
    name: string,
    optionsOrFn: AgentRunOptions | Callback<AgentRun, Result>,
    maybeFn?: Callback<AgentRun, Result>,
  ): Result {
    const [options, fn] = splitArguments(optionsOrFn, maybeFn, 'agentRun');
    return this.startRun(name, options, fn, this.activeRun());
  }

  /**
   * Runs `fn` as a step of the active run.
   *
   * @throws CostspanError `no_active_run` when called outside any run
   */
  step<Result>(name: string, fn: Callback<Step, Result>): Result;
  step<Result>(name: string, options: StepOptions, fn: Callback<Step, Result>): Result;
  step<Result>(name: string, optionsOrFn: StepOptions | Callback<Step, Result>, maybeFn?: Callback<Step, Result>): Result {
    const [options, fn] = splitArguments(optionsOrFn, maybeFn, 'step');
    const run = this.activeRun();
    if (run === undefined) {
      throw new CostspanError({
        code: 'no_active_run',
        message: `step "${String(name)}" was started outside an agent run; wrap it in tracer.agentRun(...) or call run.step(...)`,
      });
    }
    return run.step(name, options, fn);
  }

  /**
   * The step whose callback is executing, if any (needs a context manager). Lets client
   * wrappers record usage on the right step: `instrumentOpenAI(client, { getStep: () => tracer.activeStep() })`.
   */
  activeStep(): Step | undefined {
    return context.active().getValue(STEP_KEY) as Step | undefined;
  }

  /** The run whose callback is executing, if any (needs a context manager, as OpenTelemetry's NodeSDK registers). */
  activeRun(): AgentRun | undefined {
    return context.active().getValue(RUN_KEY) as AgentRun | undefined;
  }

  /** @internal */
  startRun<Result>(name: string, options: AgentRunOptions, fn: Callback<AgentRun, Result>, parent: AgentRun | undefined): Result {
    validateName(name, 'name');
    const principal = mergePrincipals(parent?.principal, validatePrincipal(options.principal));
    const id = options.runId === undefined ? this.nextRunId() : validateName(options.runId, 'runId');
    const attributes: Attributes = {
      ...options.attributes,
      [ATTR.OPERATION_NAME]: INVOKE_AGENT,
      [ATTR.AGENT_NAME]: name,
      [ATTR.AGENT_ID]: id,
      ...principalToAttributes(principal),
    };
    if (options.sessionId !== undefined) attributes[ATTR.SESSION_ID] = validateName(options.sessionId, 'sessionId');
    const parentContext = parent !== undefined && !belongsTo(context.active(), parent) ? parent.context : context.active();
    const span = this.tracer.startSpan(`${INVOKE_AGENT} ${name}`, { kind: SpanKind.INTERNAL, attributes }, parentContext);
    const budget = options.budget ?? parent?.budget;
    if (budget !== undefined) runStates.set(span, { budget });
    const run = new AgentRun({
      id,
      rootId: parent?.rootId ?? id,
      name,
      span,
      principal,
      budget,
      context: trace.setSpan(parentContext, span),
      tracer: this,
    });
    return runInSpan(span, run.context, () => fn(run), () => run.end());
  }

  /** @internal */
  startStep<Result>(run: AgentRun, name: string, options: StepOptions, fn: Callback<Step, Result>): Result {
    validateName(name, 'name');
    const attributes: Attributes = { ...options.attributes };
    if (options.operation !== undefined) attributes[ATTR.OPERATION_NAME] = validateName(options.operation, 'operation');
    // Nest under the active span when it is inside this run (a step within a step); else directly under the run.
    const active = context.active();
    const parentContext = belongsTo(active, run) ? active : run.context;
    const span = this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parentContext);
    const step = new Step(name, span, run, options.operation);
    return runInSpan(span, trace.setSpan(parentContext, span).setValue(STEP_KEY, step), () => fn(step), () => step.end());
  }
}

/**
 * Creates a {@link CostTracer}. Add a {@link CostSpanProcessor} to the same
 * provider to get costs rolled up and cost events emitted.
 */
export function createCostTracer(options: CostTracerOptions = {}): CostTracer {
  return new CostTracer(options);
}

function belongsTo(active: Context, run: AgentRun): boolean {
  return active.getValue(RUN_KEY) === run;
}

function splitArguments<Options extends object, Subject, Result>(
  optionsOrFn: Options | Callback<Subject, Result>,
  maybeFn: Callback<Subject, Result> | undefined,
  method: string,
): [Options, Callback<Subject, Result>] {
  if (typeof optionsOrFn === 'function') return [{} as Options, optionsOrFn];
  if (typeof maybeFn !== 'function') {
    throw new CostspanError({ code: 'invalid_argument', field: 'fn', value: maybeFn, message: `${method}(name, options, fn) needs a callback; got ${typeof maybeFn}` });
  }
  return [optionsOrFn ?? ({} as Options), maybeFn];
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function fail(span: Span, error: unknown): void {
  try {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  } catch {
    // Telemetry must not replace the user's error with its own.
  }
}

function runInSpan<Result>(span: Span, spanContext: Context, fn: () => Result, onEnd: () => void): Result {
  const finish = (): void => {
    onEnd();
    span.end();
  };
  let result: Result;
  try {
    result = context.with(spanContext, fn);
  } catch (error) {
    fail(span, error);
    finish();
    throw error;
  }
  if (!isPromiseLike(result)) {
    finish();
    return result;
  }
  return Promise.resolve(result).then(
    (value) => {
      finish();
      return value;
    },
    (error: unknown) => {
      fail(span, error);
      finish();
      throw error;
    },
  ) as Result;
}
