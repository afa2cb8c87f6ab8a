import type { IncomingMessage, ServerResponse } from 'node:http';
import { CostspanError } from '@costspan/core';
import { notice } from '@costspan/sdk/internal';
import { isBudgetRefusal } from './budget-refusal.js';
import { runNodeRequest, sendBudgetRefusal } from './node-request.js';
import { resolveHttpOptions, type CostspanHttpOptions } from './request-run-options.js';

/** Express's `next`, typed structurally so that `express` stays an optional peer. */
export type ExpressNext = (error?: unknown) => void;
/** An Express middleware. */
export type ExpressMiddleware<Request extends IncomingMessage = IncomingMessage> = (
  request: Request,
  response: ServerResponse,
  next: ExpressNext,
) => void;
/** An Express error middleware. */
export type ExpressErrorMiddleware = (error: unknown, request: IncomingMessage, response: ServerResponse, next: ExpressNext) => void;

/**
 * Express (4 and 5) middleware: each request after it is an agent run; its cost goes on the
 * response. Mount {@link costspanExpressErrors} after your routes to answer budget refusals.
 *
 * @throws CostspanError `invalid_argument` naming the option, when options are malformed
 * @example
 * ```ts
 * app.use(costspanExpress({ tracer, recorder, name: 'api', principal: (request) => ({ userId: request.get('x-user') }) }));
 * app.post('/chat', async (request, response) => { ...; response.json(answer); });
 * app.use(costspanExpressErrors());
 * ```
 */
export function costspanExpress<Request extends IncomingMessage = IncomingMessage>(
  options: CostspanHttpOptions<Request>,
): ExpressMiddleware<Request> {
  const resolved = resolveHttpOptions(options);
  return (request, response, next) => {
    let handedOn = false;
    runNodeRequest(resolved, request, request, response, () => {
      handedOn = true;
      next();
    }).catch((error: unknown) => {
      // `next()` does not throw into us (Express catches route errors); anything here is ours.
      notice('http_express_run_failed', `the Express request run failed (${describe(error)}); the request went on without cost tracking.`);
      if (!handedOn) next();
    });
  };
}

/**
 * Express error middleware: answers a budget refusal (`budget_exceeded`) with the status and body
 * chosen in {@link costspanExpress}'s `budgetRefusal` (default 429); passes other errors on.
 */
export function costspanExpressErrors(): ExpressErrorMiddleware {
  return (error, _request, response, next) => {
    if (!isBudgetRefusal(error)) {
      next(error);
      return;
    }
    sendBudgetRefusal(response, error);
  };
}

function describe(error: unknown): string {
  return CostspanError.isInstance(error) ? error.code : error instanceof Error ? error.name : typeof error;
}
