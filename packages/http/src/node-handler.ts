import type { IncomingMessage, ServerResponse } from 'node:http';
import { runNodeRequest } from './node-request.js';
import { resolveHttpOptions, type CostspanHttpOptions } from './request-run-options.js';

/** A `node:http` request listener, sync or async. */
export type NodeRequestHandler = (request: IncomingMessage, response: ServerResponse) => unknown;

/**
 * Wraps a `node:http` request listener: each request is an agent run, its cost goes on the
 * response (headers, or trailers and a final SSE event when streamed), and a refused budget is
 * answered with `budgetRefusal.status` (default 429). Other errors of the handler are rethrown.
 *
 * @throws CostspanError `invalid_argument` naming the option, when options are malformed
 * @example
 * ```ts
 * const server = http.createServer(costspanNodeHandler({ tracer, recorder, name: 'api' }, async (request, response) => {
 *   await tracer.step('answer', async (step) => { ... });
 *   response.end('done');
 * }));
 * ```
 */
export function costspanNodeHandler(
  options: CostspanHttpOptions<IncomingMessage>,
  handler: NodeRequestHandler,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const resolved = resolveHttpOptions(options);
  if (typeof handler !== 'function') throw new TypeError('costspanNodeHandler: handler must be a function');
  return (request, response) => runNodeRequest(resolved, request, request, response, () => handler(request, response));
}
