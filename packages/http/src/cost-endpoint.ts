import type { IncomingMessage, ServerResponse } from 'node:http';
import { CostspanError, formatPico, millisecondsOption } from '@costspan/core';
import type { Principal } from '@costspan/sdk';
import { notice } from '@costspan/sdk/internal';
import type { LedgerGroup, LiveCostLedger } from './live-cost-ledger.js';

/** The request, as `authorize` and `budgetPrincipal` see it in every framework. */
export interface CostEndpointRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** A request header (lower-case name), or `undefined`. */
  header(name: string): string | undefined;
  /** The framework's own request (`IncomingMessage`, Express/Fastify request, Hono `Context`). */
  raw: unknown;
}

/** `true` allows; `false` or `'forbidden'` answers 403; `'unauthenticated'` answers 401. */
export type CostEndpointDecision = boolean | 'unauthenticated' | 'forbidden';

/** One limit of a budget status, as `@costspan/budget`'s `BudgetGuard.getBudget` returns it. */
export interface CostEndpointLimitStatus {
  limitType: string;
  scope: string;
  window: string;
  unit: string;
  exact: { limit: bigint | undefined; spent: bigint; reserved: bigint; remaining: bigint | undefined };
}

/** What the endpoint reads budget status from: a `BudgetGuard` fits. */
export interface CostEndpointBudgetSource {
  getBudget(principal?: Principal): Promise<{ circuit: string; limits: readonly CostEndpointLimitStatus[] }>;
}

/** Options of {@link createCostEndpoint}. */
export interface CostEndpointOptions {
  /** The ledger registered as a listener of the `CostSpanProcessor`. */
  ledger: LiveCostLedger;
  /** Required: decides who may read costs. There is no open default. */
  authorize: (request: CostEndpointRequest) => CostEndpointDecision | Promise<CostEndpointDecision>;
  /** Budget whose limits are reported under `budget` (e.g. a `BudgetGuard`). Default: none. */
  budget?: CostEndpointBudgetSource;
  /** Whose budget to report, e.g. the caller's org. Default `{}`: the global limits. */
  budgetPrincipal?: (request: CostEndpointRequest) => Principal | Promise<Principal>;
  /**
   * Longest wait (ms) for the budget part, `budgetPrincipal` and `getBudget` together. Past it the
   * endpoint answers the costs with `"budget": { "error": "budget_unavailable", "reason": "timeout" }`
   * (told once) and ignores the late answer. Default 3000: well above a `BudgetGuard` on a Redis
   * store's own bound (one `timeoutMs` per call, 1000 by default), so its own error shows when it has one.
   * From 1 to 2147483647 (the longest timer delay), else `createCostEndpoint` throws.
   */
  budgetTimeoutMs?: number;
}

/** Default of {@link CostEndpointOptions.budgetTimeoutMs}. */
const BUDGET_TIMEOUT_MS = 3000;

/** The endpoint's answer, framework-neutral. */
export interface CostEndpointResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The endpoint, mountable in each framework. */
export interface CostEndpoint {
  /** Framework-neutral: answers one request. Never rejects. */
  handle(request: CostEndpointRequest): Promise<CostEndpointResponse>;
  /** `node:http` listener, also an Express handler (`app.get('/admin/costs', endpoint.node)`). */
  node(request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** Fastify route handler: `app.get('/admin/costs', endpoint.fastify)`. */
  fastify(request: { raw: IncomingMessage }, reply: FastifyReplyLike): Promise<FastifyReplyLike>;
  /** Hono handler: `app.get('/admin/costs', endpoint.hono)`. */
  hono(context: { req: { method: string; path: string; raw: Request } }): Promise<Response>;
}

interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}

/**
 * A live cost endpoint serving JSON from the in-process {@link LiveCostLedger} and budget, in the
 * shape of an admin metrics endpoint: `total_cost_today`, `total_cost_month`, `projected_monthly`,
 * `by_provider`, `by_model`, `by_agent`, `by_principal` (month to date) and `budget` (status per
 * limit), every amount an exact decimal string of USD (tokens as integer strings).
 *
 * The budget part never fails or delays the answer beyond `budgetTimeoutMs`: the costs come from
 * this process and are always served (200). When the budget cannot be read, `budget` is
 * `{ "error": code }` instead of `{ circuit, limits }`: the failure's `CostspanError` code, else
 * `budget_unavailable`; when it did not answer in time, `{ "error": "budget_unavailable",
 * "reason": "timeout" }`. Each cause is told once (costspan notice).
 *
 * @throws CostspanError `invalid_argument` (field `authorize`) without an authorize function:
 *   a cost endpoint is never open by default
 * @throws CostspanError `invalid_argument` (field `budgetTimeoutMs`) unless it is a number of
 *   milliseconds from 1 to 2147483647
 * @example
 * ```ts
 * const endpoint = createCostEndpoint({ ledger, budget: guard, authorize: (request) => request.header('authorization') === `Bearer ${token}` || 'unauthenticated' });
 * app.get('/admin/costs', endpoint.node); // Express; endpoint.fastify, endpoint.hono elsewhere
 * ```
 */
export function createCostEndpoint(options: CostEndpointOptions): CostEndpoint {
  if (typeof options?.authorize !== 'function') {
    throw new CostspanError({
      code: 'invalid_argument',
      message:
        'createCostEndpoint needs an authorize function: a cost endpoint is never open by default. Pass authorize: (request) => true only behind your own access control.',
      field: 'authorize',
    });
  }
  if (typeof options.ledger?.snapshot !== 'function') {
    throw new CostspanError({
      code: 'invalid_argument',
      message: 'ledger must be a LiveCostLedger registered as a listener',
      field: 'ledger',
    });
  }
  if (options.budget !== undefined && typeof options.budget.getBudget !== 'function') {
    throw new CostspanError({
      code: 'invalid_argument',
      message: 'budget must have getBudget(principal) (a BudgetGuard)',
      field: 'budget',
    });
  }
  const budgetTimeoutMs = millisecondsOption(options.budgetTimeoutMs, 'budgetTimeoutMs', { fallback: BUDGET_TIMEOUT_MS });
  const handle = async (request: CostEndpointRequest): Promise<CostEndpointResponse> => {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return json(405, { error: { code: 'method_not_allowed' } }, { allow: 'GET, HEAD' });
    let decision: CostEndpointDecision;
    try {
      decision = await options.authorize(request);
    } catch (error) {
      notice(
        'http_cost_endpoint_authorize',
        `the cost endpoint's authorize function threw (${error instanceof Error ? error.name : typeof error}); the request was refused with 500.`,
      );
      return json(500, { error: { code: 'authorize_failed' } });
    }
    if (decision === 'unauthenticated') return json(401, { error: { code: 'unauthenticated' } }, { 'www-authenticate': 'Bearer' });
    if (decision !== true) return json(403, { error: { code: 'forbidden' } });
    return json(200, await metrics(options, request, budgetTimeoutMs));
  };
  return {
    handle,
    async node(request, response) {
      const answer = await handle(fromNode(request, request));
      response.writeHead(answer.status, answer.headers);
      response.end(request.method === 'HEAD' ? undefined : answer.body);
    },
    async fastify(request, reply) {
      const answer = await handle(fromNode(request.raw, request));
      reply.code(answer.status);
      for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value);
      return reply.send(answer.body);
    },
    async hono(context) {
      const raw = context.req.raw;
      const answer = await handle({
        method: context.req.method,
        path: context.req.path,
        header: (name) => raw.headers.get(name) ?? undefined,
        raw: context,
      });
      return new Response(context.req.method === 'HEAD' ? null : answer.body, { status: answer.status, headers: answer.headers });
    },
  };
}

async function metrics(
  options: CostEndpointOptions,
  request: CostEndpointRequest,
  budgetTimeoutMs: number,
): Promise<Record<string, unknown>> {
  const snapshot = options.ledger.snapshot();
  const body: Record<string, unknown> = {
    currency: 'USD',
    time_zone: snapshot.timeZone,
    day: snapshot.day,
    month: snapshot.month,
    total_cost_today: formatPico(snapshot.today.costPico),
    total_cost_month: formatPico(snapshot.monthToDate.costPico),
    projected_monthly: formatPico(snapshot.projectedMonthPico),
    calls_today: snapshot.today.calls,
    calls_month: snapshot.monthToDate.calls,
    by_provider: groups(snapshot.monthToDate.byProvider, true),
    by_model: groups(snapshot.monthToDate.byModel, true),
    by_agent: groups(snapshot.monthToDate.byAgent, true),
    by_principal: groups(snapshot.monthToDate.byPrincipal, false),
  };
  if (options.budget !== undefined) body.budget = await budgetWithin(options, request, budgetTimeoutMs);
  return body;
}

/** The budget part, or its timeout after `timeoutMs`; a late answer or failure is dropped, untold. Never rejects. */
async function budgetWithin(
  options: CostEndpointOptions,
  request: CostEndpointRequest,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
    // An endpoint waiting on a hung store must not keep the process alive.
    timer.unref();
  });
  const reading = readBudget(options, request).then(
    (status) => ({ status }),
    (error: unknown) => ({ error }),
  );
  let outcome: Awaited<typeof reading> | undefined;
  try {
    outcome = await Promise.race([reading, timedOut]);
  } finally {
    clearTimeout(timer);
  }
  if (outcome === undefined) {
    notice(
      'http_cost_endpoint_budget:timeout',
      `the cost endpoint's budget did not answer within ${timeoutMs} ms; it answers with budget.error (reason timeout) meanwhile. Check the budget store, or raise budgetTimeoutMs.`,
    );
    return { error: 'budget_unavailable', reason: 'timeout' };
  }
  if ('status' in outcome) return outcome.status;
  const code = CostspanError.isInstance(outcome.error) ? outcome.error.code : 'budget_unavailable';
  notice(
    `http_cost_endpoint_budget:${code}`,
    `the cost endpoint could not read the budget (${code}); it answers with budget.error until the budget store is back.`,
  );
  return { error: code };
}

/** Reads and formats the budget status; rejects when the principal or the budget cannot be read. */
async function readBudget(options: CostEndpointOptions, request: CostEndpointRequest): Promise<Record<string, unknown>> {
  const principal = options.budgetPrincipal === undefined ? {} : await options.budgetPrincipal(request);
  const status = await (options.budget as CostEndpointBudgetSource).getBudget(principal);
  return {
    circuit: status.circuit,
    limits: status.limits.map((limit) => {
      const amount = (value: bigint | undefined): string | null =>
        value === undefined ? null : limit.unit === 'tokens' ? value.toString() : formatPico(value);
      return {
        limit_type: limit.limitType,
        scope: limit.scope,
        window: limit.window,
        unit: limit.unit,
        limit: amount(limit.exact.limit),
        spent: amount(limit.exact.spent),
        reserved: amount(limit.exact.reserved),
        remaining: amount(limit.exact.remaining),
      };
    }),
  };
}

/** Sorted by cost, highest first; a null-prototype object so keys from user data stay plain keys. */
function groups(source: Map<string, LedgerGroup>, withCalls: boolean): Record<string, unknown> {
  const result = Object.create(null) as Record<string, unknown>;
  const entries = [...source.entries()].sort(([leftKey, left], [rightKey, right]) =>
    left.costPico === right.costPico ? leftKey.localeCompare(rightKey) : left.costPico > right.costPico ? -1 : 1,
  );
  for (const [key, group] of entries) {
    result[key] = withCalls
      ? { cost: formatPico(group.costPico), calls: group.calls, input_tokens: group.inputTokens, output_tokens: group.outputTokens }
      : { cost: formatPico(group.costPico) };
  }
  return result;
}

function fromNode(request: IncomingMessage, raw: unknown): CostEndpointRequest {
  return {
    method: request.method ?? 'GET',
    path: (request.url ?? '/').split('?')[0] ?? '/',
    header: (name) => {
      const value = request.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    raw,
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): CostEndpointResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}
