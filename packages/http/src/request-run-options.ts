import type { Attributes } from '@opentelemetry/api';
import { CostspanError } from '@costspan/core';
import { type AgentRun, type AgentRunOptions, type BudgetGate, type CostTracer, type Principal } from '@costspan/sdk';
import { validateName, validatePrincipal } from '@costspan/sdk/internal';
import { notice } from '@costspan/sdk/internal';
import { resolveRefusal, type BudgetRefusalOptions } from './budget-refusal.js';
import type { RequestCostRecorder } from './request-cost-recorder.js';

/** A value given once, or computed from each request. */
export type PerRequest<Request, Value> = Value | ((request: Request) => Value);

/**
 * Options shared by every middleware of this package. `Request` is the framework's request
 * (`IncomingMessage`, Express `Request`, `FastifyRequest`, Hono `Context`).
 */
export interface CostspanHttpOptions<Request> {
  /** The tracer whose runs the requests become (`setupCostspan().tracer` or `createCostTracer(...)`). */
  tracer: CostTracer;
  /** The recorder registered as a listener of the tracer's `CostSpanProcessor`. */
  recorder: RequestCostRecorder;
  /** Agent run name, or a function of the request. Default `http`. */
  name?: PerRequest<Request, string> | undefined;
  /** Principal of the run (user, team, org, tags), or a function of the request. Default none. */
  principal?: PerRequest<Request, Principal | undefined>;
  /** Budget charged and checked by the request's steps (e.g. a `BudgetGuard`), or a function of the request. */
  budget?: PerRequest<Request, BudgetGate | undefined>;
  /** How a refused budget is answered. Default: status 429 with a JSON body naming the limit. */
  budgetRefusal?: BudgetRefusalOptions | undefined;
  /** Put the cost on HTTP trailers of streamed (chunked) responses. Default true. */
  trailers?: boolean | undefined;
  /** End a streamed `text/event-stream` response with an `event: costspan-cost` carrying the cost. Default true. */
  sseCostEvent?: boolean | undefined;
}

/** Options after validation. */
export interface ResolvedHttpOptions<Request> {
  tracer: CostTracer;
  recorder: RequestCostRecorder;
  refusal: ReturnType<typeof resolveRefusal>;
  trailers: boolean;
  sseCostEvent: boolean;
  runOptions(request: Request): { name: string; principal?: Principal; budget?: BudgetGate };
}

/** Validates options once, when the middleware is made; throws a `CostspanError` naming the field. */
export function resolveHttpOptions<Request>(options: CostspanHttpOptions<Request>, field = 'options'): ResolvedHttpOptions<Request> {
  if (typeof options !== 'object' || options === null) throw invalid(field, 'an options object with tracer and recorder');
  if (typeof options.tracer?.agentRun !== 'function') throw invalid(`${field}.tracer`, 'a CostTracer (setupCostspan().tracer)');
  if (typeof options.recorder?.onEvent !== 'function') throw invalid(`${field}.recorder`, 'a RequestCostRecorder registered as a listener');
  const { name = 'http', principal, budget } = options;
  if (typeof name !== 'string' && typeof name !== 'function') throw invalid(`${field}.name`, 'a string or a function of the request');
  return {
    tracer: options.tracer,
    recorder: options.recorder,
    refusal: resolveRefusal(options.budgetRefusal, `${field}.budgetRefusal`),
    trailers: options.trailers ?? true,
    sseCostEvent: options.sseCostEvent ?? true,
    runOptions(request) {
      const resolvedName = pick(name, request, 'name') ?? 'http';
      const run: { name: string; principal?: Principal; budget?: BudgetGate } = { name: resolvedName };
      const resolvedPrincipal = pick(principal, request, 'principal');
      if (resolvedPrincipal !== undefined) run.principal = resolvedPrincipal;
      const resolvedBudget = pick(budget, request, 'budget');
      if (resolvedBudget !== undefined) run.budget = resolvedBudget;
      return run;
    },
  };
}

/** Runs `fn` as the request's agent run; a name or principal the SDK refuses is dropped (and told once) rather than failing the request. */
export function startRequestRun<Request, Result>(
  options: ResolvedHttpOptions<Request>,
  request: Request,
  attributes: Attributes,
  fn: (run: AgentRun) => Result,
): Result {
  const { name, principal, budget } = options.runOptions(request);
  const run: AgentRunOptions = { attributes };
  if (budget !== undefined) run.budget = budget;
  if (principal !== undefined && accepted(() => validatePrincipal(principal, 'principal'), 'principal')) run.principal = principal;
  return options.tracer.agentRun(accepted(() => validateName(name, 'name'), 'name') ? name : 'http', run, fn);
}

function accepted(validate: () => unknown, field: string): boolean {
  try {
    validate();
    return true;
  } catch (error) {
    notice(
      `http_run_options:${field}`,
      `the request's run ${field} was refused (${error instanceof Error ? error.message : String(error)}); the request runs without it. Fix the ${field} option of the costspan middleware.`,
    );
    return false;
  }
}

function pick<Request, Value>(value: PerRequest<Request, Value> | undefined, request: Request, field: string): Value | undefined {
  if (typeof value !== 'function') return value;
  try {
    return (value as (request: Request) => Value)(request);
  } catch (error) {
    notice(
      `http_option_threw:${field}`,
      `the middleware's ${field} function threw (${error instanceof Error ? error.name : typeof error}); the request runs without it. Make the ${field} option total.`,
    );
    return undefined;
  }
}

function invalid(field: string, expectation: string): CostspanError {
  return new CostspanError({ code: 'invalid_argument', message: `${field} must be ${expectation}`, field });
}

/** Stops tracking a request; tells once when the recorder never saw an event (not registered as a listener). */
export function endRequest<Request>(options: ResolvedHttpOptions<Request>, runId: string | undefined): void {
  if (runId === undefined || options.recorder.end(runId)) return;
  notice(
    'http_recorder_not_listening',
    "the RequestCostRecorder of the HTTP middleware never received a cost event, so responses carry $0. Pass it in `listeners` of setupCostspan(...) or of the CostSpanProcessor of the middleware's tracer.",
  );
}
