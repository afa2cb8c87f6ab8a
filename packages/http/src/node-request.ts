import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentRun } from '@costspan/sdk';
import { budgetRefusalResponse, isBudgetRefusal, resolveRefusal } from './budget-refusal.js';
import { COST_HEADERS } from './cost-headers.js';
import { instrumentResponse } from './node-response.js';
import { endRequest, startRequestRun, type ResolvedHttpOptions } from './request-run-options.js';

const DEFAULT_REFUSAL = resolveRefusal(undefined, 'budgetRefusal');
const refusalOptions = new WeakMap<ServerResponse, ResolvedHttpOptions<never>['refusal']>();

/**
 * Runs one Node request (node:http, Express, Fastify's `raw`) as an agent run that lasts until the
 * response has finished or the connection closed. `inner` hands the request on (the handler,
 * Express's `next`, Fastify's `done`); it runs inside the run, so `tracer.step(...)` in handlers
 * finds it. Resolves once the run has ended; rejects only with an error `inner` threw that is not a
 * budget refusal.
 */
export async function runNodeRequest<Request>(
  options: ResolvedHttpOptions<Request>,
  frameworkRequest: Request,
  request: IncomingMessage,
  response: ServerResponse,
  inner: (run: AgentRun) => unknown,
): Promise<void> {
  let runId: string | undefined;
  const attributes = { 'http.request.method': request.method ?? 'GET', 'url.path': (request.url ?? '/').split('?')[0] ?? '/' };
  try {
    await startRequestRun(options, frameworkRequest, attributes, (run) => {
      runId = run.id;
      const id = run.id;
      options.recorder.begin(id, run.span.spanContext().traceId);
      refusalOptions.set(response, options.refusal);
      if (!response.headersSent) response.setHeader(COST_HEADERS.runId, id);
      instrumentResponse(request, response, {
        cost: () => options.recorder.current(id),
        trailers: options.trailers,
        sseCostEvent: options.sseCostEvent,
      });
      bindEmitter(request);
      const finished = new Promise<void>((resolve) => {
        if (response.writableFinished || response.destroyed) resolve();
        response.once('finish', () => resolve());
        response.once('close', () => resolve());
      });
      // An async function turns a synchronous throw of `inner` into a rejection; `inner` still starts now.
      const handled = (async () => {
        await inner(run);
      })();
      return Promise.all([finished, handled.catch((error: unknown) => answerError(response, error))]);
    });
  } finally {
    endRequest(options, runId);
  }
}

/**
 * Answers a budget refusal with the configured status and JSON body (the cost so far still goes on
 * the headers); when the body had already started, ends it. Any other error is rethrown unchanged.
 */
export function answerError(response: ServerResponse, error: unknown): void {
  if (!isBudgetRefusal(error)) throw error;
  sendBudgetRefusal(response, error);
}

/** Sends the refusal of `error` on `response` (a refusal body, or the end of an already started one). */
export function sendBudgetRefusal(response: ServerResponse, error: Parameters<typeof budgetRefusalResponse>[0]): void {
  if (response.writableEnded) return;
  if (response.headersSent) {
    response.end();
    return;
  }
  const refusal = budgetRefusalResponse(error, refusalOptions.get(response) ?? DEFAULT_REFUSAL);
  response.statusCode = refusal.status;
  for (const [name, value] of Object.entries(refusal.headers)) response.setHeader(name, value);
  response.setHeader('content-length', Buffer.byteLength(refusal.body));
  response.end(refusal.body);
}

/**
 * Runs the request's event listeners (`data`, `end`: body parsers) in the run's async context, so
 * steps started from them still belong to the request, as cls-hooked's `bindEmitter` does.
 */
function bindEmitter(request: IncomingMessage): void {
  const resource = new AsyncResource('costspan.http.request');
  const emit = request.emit.bind(request) as (...args: unknown[]) => boolean;
  request.emit = ((...args: unknown[]): boolean => resource.runInAsyncScope(() => emit(...args))) as IncomingMessage['emit'];
}
