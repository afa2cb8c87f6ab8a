import { context, SpanKind, trace, type Attributes, type Context, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { CostspanError } from '@costspan/core';
import { AgentRun, type AgentRunOptions } from './agent-run.js';
import { ATTR, INVOKE_AGENT } from '../attributes.js';
import type { BudgetGate, Principal } from '../budget-gate.js';
import { createEventIdGenerator } from '../events/cost-event.js';
import { mergePrincipals, principalToAttributes, validatePrincipal } from './principal.js';
import { activeScope, RUN_KEY, runInSpan, splitArguments, STEP_KEY, type Callback } from './run-scope.js';
import { runStates } from './span-state.js';
import { Step, type StepOptions } from './step.js';
import { validateName } from './usage-input.js';
import { genAiEmitNames, type GenAiEmitNames } from '../semconv.js';
import { SDK_NAME, SDK_VERSION } from '../version.js';

export { AgentRun, type AgentRunOptions } from './agent-run.js';
export { Step, type RecordUsageInput, type ReserveInput, type StepOptions } from './step.js';

/** Options of {@link createCostTracer}. */
export interface CostTracerOptions {
  /** Provider whose tracer makes the spans. Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Instrumentation scope name. Default `@costspan/sdk`. */
  instrumentationName?: string;
  /** Principal of every root run; a run's own `principal` fields win. Default: none. */
  principal?: Principal;
  /** Budget of every root run without its own `budget`. Default: none. */
  budget?: BudgetGate;
  /**
   * Which GenAI convention names to emit, as `OTEL_SEMCONV_STABILITY_OPT_IN` (default: that
   * variable, read once here): `gen_ai_latest_experimental` emits the latest experimental names.
   */
  semconvStabilityOptIn?: string;
}

/**
 * Makes agent runs and steps as spans of your tracer provider. Runs and steps started inside a
 * run's callback, sync or async, nest under it with or without an OpenTelemetry context manager.
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
  private readonly defaultPrincipal: Principal | undefined;
  private readonly defaultBudget: BudgetGate | undefined;
  private readonly names: GenAiEmitNames;

  constructor(options: CostTracerOptions = {}) {
    this.names = genAiEmitNames(options.semconvStabilityOptIn);
    const provider = options.tracerProvider ?? trace.getTracerProvider();
    this.tracer = provider.getTracer(options.instrumentationName ?? SDK_NAME, SDK_VERSION);
    this.defaultPrincipal = options.principal === undefined ? undefined : validatePrincipal(options.principal, 'principal');
    this.defaultBudget = options.budget;
  }

  /**
   * Runs `fn` as an agent run: a span `invoke_agent {name}` nested in the
   * active run or span, if any. Sync or async; the value passes through; an
   * error marks the span ERROR, still records the cost, and is rethrown.
   */
  agentRun<Result>(name: string, fn: Callback<AgentRun, Result>): Result;
  agentRun<Result>(name: string, options: AgentRunOptions, fn: Callback<AgentRun, Result>): Result;
  agentRun<Result>(name: string, optionsOrFn: AgentRunOptions | Callback<AgentRun, Result>, maybeFn?: Callback<AgentRun, Result>): Result {
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
   * The step whose callback is executing, if any (with or without a context manager). Lets client
   * wrappers record usage on the right step: `instrumentOpenAI(client, { getStep: () => tracer.activeStep() })`.
   */
  activeStep(): Step | undefined {
    const active = context.active();
    // Under a context manager the OTel context is the most specific; it holds no step inside a nested run.
    if (active.getValue(RUN_KEY) !== undefined) return active.getValue(STEP_KEY) as Step | undefined;
    const scope = activeScope.getStore();
    return scope instanceof Step ? scope : undefined;
  }

  /** The run whose callback is executing, if any (with or without a context manager). */
  activeRun(): AgentRun | undefined {
    const fromContext = context.active().getValue(RUN_KEY) as AgentRun | undefined;
    if (fromContext !== undefined) return fromContext;
    const scope = activeScope.getStore();
    return scope instanceof Step ? scope.run : (scope as AgentRun | undefined);
  }

  /** @internal */
  startRun<Result>(name: string, options: AgentRunOptions, fn: Callback<AgentRun, Result>, parent: AgentRun | undefined): Result {
    validateName(name, 'name');
    const principal = mergePrincipals(
      parent === undefined ? this.defaultPrincipal : parent.principal,
      validatePrincipal(options.principal),
    );
    const id = options.runId === undefined ? this.nextRunId() : validateName(options.runId, 'runId');
    const attributes: Attributes = {
      ...options.attributes,
      [ATTR.OPERATION_NAME]: INVOKE_AGENT,
      [ATTR.AGENT_NAME]: name,
      [ATTR.AGENT_ID]: id,
      ...principalToAttributes(principal),
    };
    if (options.sessionId !== undefined) attributes[ATTR.SESSION_ID] = validateName(options.sessionId, 'sessionId');
    if (options.sessionId !== undefined && this.names.conversationId !== undefined)
      attributes[this.names.conversationId] = options.sessionId;
    const parentContext = parent === undefined ? context.active() : innermostContext(parent);
    const span = this.tracer.startSpan(`${INVOKE_AGENT} ${name}`, { kind: SpanKind.INTERNAL, attributes }, parentContext);
    const budget = options.budget ?? (parent === undefined ? this.defaultBudget : parent.budget);
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
    return runInSpan(span, run.context, run, fn);
  }

  /** @internal */
  startStep<Result>(run: AgentRun, name: string, options: StepOptions, fn: Callback<Step, Result>): Result {
    validateName(name, 'name');
    const attributes: Attributes = { ...options.attributes };
    if (options.operation !== undefined) attributes[ATTR.OPERATION_NAME] = validateName(options.operation, 'operation');
    // Nest under the innermost span inside this run (a step within a step); else directly under the run.
    const parentContext = innermostContext(run);
    const span = this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parentContext);
    const step = new Step(name, span, run, options.operation, parentContext, this.names);
    return runInSpan(span, step.context, step, fn);
  }
}

/**
 * Creates a {@link CostTracer}. Add a {@link CostSpanProcessor} to the same
 * provider to get costs rolled up and cost events emitted.
 */
export function createCostTracer(options: CostTracerOptions = {}): CostTracer {
  return new CostTracer(options);
}

/**
 * The context new children of `run` start in: the active OTel context when it is inside `run`
 * (a context manager is active, and it may hold another instrumentation's span); else the
 * active step's when that step is `run`'s; else `run`'s own. So span parents agree with the
 * cost tree with or without a context manager.
 */
function innermostContext(run: AgentRun): Context {
  const active = context.active();
  if (active.getValue(RUN_KEY) === run) return active;
  const scope = activeScope.getStore();
  return scope instanceof Step && scope.run === run ? scope.context : run.context;
}
