import type { IncomingMessage, ServerResponse } from 'node:http';
import { CostspanError } from '@costspan/core';
import { notice } from '@costspan/sdk/internal';
import { budgetRefusalResponse, isBudgetRefusal } from './budget-refusal.js';
import { runNodeRequest } from './node-request.js';
import { resolveHttpOptions, type CostspanHttpOptions } from './request-run-options.js';

/** The parts of a Fastify request this package uses (structural: `fastify` stays an optional peer). */
export interface FastifyRequestLike {
  raw: IncomingMessage;
}

/** The parts of a Fastify reply this package uses. */
export interface FastifyReplyLike {
  raw: ServerResponse;
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}

/**
 * The parts of a Fastify instance this package uses. Method signatures (checked bivariantly) so
 * that Fastify's own, more specific instance types fit.
 */
export interface FastifyInstanceLike {
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => void): unknown;
  setErrorHandler(handler: (this: unknown, error: unknown, request: FastifyRequestLike, reply: FastifyReplyLike) => unknown): unknown;
  errorHandler(error: unknown, request: FastifyRequestLike, reply: FastifyReplyLike): unknown;
}

/** A Fastify plugin, registered with `fastify.register(plugin)`. */
export type CostspanFastifyPlugin = ((instance: FastifyInstanceLike, options: unknown, done: (error?: Error) => void) => void) & {
  [key: symbol]: unknown;
};

/**
 * Fastify (4 and 5) plugin: each request is an agent run; its cost goes on the response (headers,
 * or trailers and a final SSE event for a streamed payload). It applies to the whole instance (not
 * encapsulated, like `fastify-plugin`) and answers budget refusals with `budgetRefusal.status`
 * (default 429), handing other errors to the error handler set before it. Register it before
 * your own `setErrorHandler`, or answer refusals there with {@link budgetRefusalResponse}.
 *
 * @throws CostspanError `invalid_argument` naming the option, when options are malformed
 * @example
 * ```ts
 * await app.register(costspanFastify({ tracer, recorder, name: 'api' }));
 * app.get('/chat', async () => { await tracer.step('answer', ...); return { answer } });
 * ```
 */
export function costspanFastify(options: CostspanHttpOptions<FastifyRequestLike>): CostspanFastifyPlugin {
  const resolved = resolveHttpOptions(options);
  const register = (instance: FastifyInstanceLike, _options: unknown, done: (error?: Error) => void): void => {
    instance.addHook('onRequest', (request, reply, hookDone) => {
      let handedOn = false;
      runNodeRequest(resolved, request, request.raw, reply.raw, () => {
        handedOn = true;
        hookDone();
      }).catch((error: unknown) => {
        notice(
          'http_fastify_run_failed',
          `the Fastify request run failed (${describe(error)}); the request went on without cost tracking.`,
        );
        if (!handedOn) hookDone();
      });
    });
    const previous = instance.errorHandler.bind(instance);
    instance.setErrorHandler((error, request, reply) => {
      if (!isBudgetRefusal(error)) return previous(error, request, reply);
      const refusal = budgetRefusalResponse(error, resolved.refusal);
      reply.code(refusal.status);
      for (const [name, value] of Object.entries(refusal.headers)) reply.header(name, value);
      return reply.send(refusal.body);
    });
    done();
  };
  // What `fastify-plugin` sets: do not encapsulate, so the hooks apply to every route.
  return Object.assign(register, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: '@costspan/http' });
}

function describe(error: unknown): string {
  return CostspanError.isInstance(error) ? error.code : error instanceof Error ? error.name : typeof error;
}
