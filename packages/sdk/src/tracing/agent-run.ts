import type { Attributes, Context, Span } from '@opentelemetry/api';
import { CostspanError } from '@costspan/core';
import type { BudgetGate, Principal } from '../budget-gate.js';
import type { CostTracer } from './cost-tracer.js';
import { RUN_KEY, ScopeContext, STEP_KEY, splitArguments, type Callback } from './run-scope.js';
import type { Step, StepOptions } from './step.js';

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
    this.context = new ScopeContext(init.context, RUN_KEY, this, STEP_KEY);
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
  agentRun<Result>(name: string, optionsOrFn: AgentRunOptions | Callback<AgentRun, Result>, maybeFn?: Callback<AgentRun, Result>): Result {
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
