import { formatPico, integerOption, usdToPico, type PicoUsd } from '@costspan/core';
import { addTotals, totalCost, type CostEvent, type CostEventListener, type CostTotals } from '@costspan/sdk';
import { emptyTotals } from '@costspan/sdk/internal';
import { notice } from '@costspan/sdk/internal';

/** The cost of one HTTP request so far: what its model calls have cost until now. */
export interface RequestCost {
  /** Id of the request's agent run (`gen_ai.agent.id`). */
  runId: string;
  /** Exact cost in pico-USD. */
  costPico: PicoUsd;
  /** Exact cost in USD as the shortest decimal string (`"0.0065"`). */
  costUsd: string;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Model calls with usage that have ended (one token event each). */
  calls: number;
  /** Of those, calls that could not be priced (booked at $0). */
  unpricedCalls: number;
}

/** Options of {@link RequestCostRecorder}. */
export interface RequestCostRecorderOptions {
  /**
   * Requests tracked at once; past it the oldest is forgotten and told once. Default 10000; an
   * integer ≥ 1, else the constructor throws a `CostspanError` (`invalid_argument`) naming it.
   */
  maxOpenRequests?: number;
}

interface OpenRequest {
  runId: string;
  traceId: string;
  /** The request's run and the nested runs seen under it, to tell apart requests sharing a trace. */
  runIds: Set<string>;
  totals: CostTotals;
  sessionSeen: boolean;
}

/**
 * Keeps the running cost of each HTTP request in flight, so middleware can put it on the response.
 * Register it as a listener of your `CostSpanProcessor` (or `setupCostspan({ listeners })`): it
 * adds each call's token event to the request whose agent run the call ran in, the moment the
 * call's step ends.
 *
 * @throws CostspanError `invalid_argument` (field `maxOpenRequests`) unless it is an integer ≥ 1
 * @example
 * ```ts
 * const requestCosts = new RequestCostRecorder();
 * const costspan = setupCostspan({ source: 'api@1.0.0', listeners: [requestCosts] });
 * app.use(costspanExpress({ tracer: costspan.tracer, recorder: requestCosts, name: 'api' }));
 * ```
 */
export class RequestCostRecorder implements CostEventListener {
  private readonly open = new Map<string, OpenRequest>();
  private readonly byTrace = new Map<string, Set<OpenRequest>>();
  private readonly maxOpenRequests: number;
  private eventsSeen = 0;

  constructor(options: RequestCostRecorderOptions = {}) {
    this.maxOpenRequests = integerOption(options.maxOpenRequests, 'maxOpenRequests', { fallback: 10_000 });
  }

  /** @internal Starts tracking a request whose run has id `runId` in trace `traceId`. */
  begin(runId: string, traceId: string): void {
    if (this.open.size >= this.maxOpenRequests) {
      const oldest = this.open.values().next().value;
      if (oldest !== undefined) this.forget(oldest);
      notice(
        'http_requests_evicted',
        `more than ${this.maxOpenRequests} HTTP requests in flight; the oldest no longer gets its cost on the response. Raise RequestCostRecorder's maxOpenRequests if that many are expected.`,
      );
    }
    const request: OpenRequest = { runId, traceId, runIds: new Set([runId]), totals: emptyTotals(), sessionSeen: false };
    this.open.set(runId, request);
    let sameTrace = this.byTrace.get(traceId);
    if (sameTrace === undefined) {
      sameTrace = new Set();
      this.byTrace.set(traceId, sameTrace);
    }
    sameTrace.add(request);
  }

  /** The cost so far of the request whose run has id `runId`; zero when it is not tracked. */
  current(runId: string): RequestCost {
    const request = this.open.get(runId);
    const totals = request?.totals ?? emptyTotals();
    const costPico = totalCost(totals);
    return {
      runId,
      costPico,
      costUsd: formatPico(costPico),
      inputTokens: totals.inputTokens,
      outputTokens: totals.outputTokens,
      totalTokens: totals.totalTokens,
      calls: totals.callCount,
      unpricedCalls: totals.unpricedCallCount,
    };
  }

  /** @internal Stops tracking; true when the run's session event arrived (the recorder is registered). */
  end(runId: string): boolean {
    const request = this.open.get(runId);
    if (request === undefined) return false;
    this.forget(request);
    return request.sessionSeen || this.eventsSeen > 0;
  }

  onEvent(event: CostEvent): void {
    this.eventsSeen += 1;
    const traceId = event.trace_id;
    if (traceId === undefined) return;
    const sameTrace = this.byTrace.get(traceId);
    if (sameTrace === undefined) return;
    if (event.event_type === 'llm.cost.session.recorded') {
      const runId = (event as CostEvent<'llm.cost.session.recorded'>).payload.agent_run_id;
      const request = this.open.get(runId);
      if (request !== undefined) request.sessionSeen = true;
      return;
    }
    if (event.event_type !== 'llm.cost.token.recorded') return;
    const payload = (event as CostEvent<'llm.cost.token.recorded'>).payload;
    const request = ownerOf(sameTrace, payload.agent_run_id, payload.parent_run_id);
    if (request === undefined) return;
    if (payload.agent_run_id !== undefined) request.runIds.add(payload.agent_run_id);
    addTotals(request.totals, callTotals(payload));
  }

  private forget(request: OpenRequest): void {
    this.open.delete(request.runId);
    const sameTrace = this.byTrace.get(request.traceId);
    sameTrace?.delete(request);
    if (sameTrace?.size === 0) this.byTrace.delete(request.traceId);
  }
}

/**
 * The request a call belongs to: the only open request of its trace, else (several requests
 * sharing a propagated trace) the one whose run, or a run nested in it, encloses the call.
 */
function ownerOf(sameTrace: Set<OpenRequest>, runId: string | undefined, parentRunId: string | undefined): OpenRequest | undefined {
  if (sameTrace.size === 1) return sameTrace.values().next().value;
  for (const request of sameTrace) {
    if ((runId !== undefined && request.runIds.has(runId)) || (parentRunId !== undefined && request.runIds.has(parentRunId)))
      return request;
  }
  return undefined;
}

function callTotals(payload: CostEvent<'llm.cost.token.recorded'>['payload']): CostTotals {
  const totals = emptyTotals();
  const cost = payload.cost;
  totals.input = usdToPico(cost.input_cost_usd);
  totals.output = usdToPico(cost.output_cost_usd);
  totals.reasoning = cost.reasoning_cost_usd === undefined ? 0n : usdToPico(cost.reasoning_cost_usd);
  totals.cachedDiscount = cost.cached_discount_usd === undefined ? 0n : usdToPico(cost.cached_discount_usd);
  totals.inputTokens = payload.token_usage.input_tokens;
  totals.outputTokens = payload.token_usage.output_tokens;
  totals.totalTokens = payload.token_usage.total_tokens;
  totals.callCount = 1;
  if (payload.pricing_status === 'unpriced') totals.unpricedCallCount = 1;
  return totals;
}
