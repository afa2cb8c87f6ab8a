import { budgetRefusalResponse, isBudgetRefusal } from './budget-refusal.js';
import { COST_HEADERS, costHeaders, isEventStream, mergeServerTiming, sseCostEventText } from './cost-headers.js';
import {
  endRequest,
  resolveHttpOptions,
  startRequestRun,
  type CostspanHttpOptions,
  type ResolvedHttpOptions,
} from './request-run-options.js';

/** The parts of a Hono `Context` this package uses (structural: `hono` stays an optional peer). */
export interface HonoContextLike {
  req: { method: string; path: string; raw: Request };
  res: Response;
  error: unknown;
}

/** A Hono middleware. */
export type HonoMiddleware<Context extends HonoContextLike = HonoContextLike> = (
  context: Context,
  next: () => Promise<void>,
) => Promise<void>;

/**
 * Hono middleware (any runtime: web `Response`s only): each request is an agent run; the cost
 * when the handler returned its `Response` goes on its headers, and a `text/event-stream` body ends
 * with an `event: costspan-cost` carrying the final cost (no cost headers then: they would be
 * stale). The run lasts until the body has been sent or cancelled. A budget refusal thrown by the
 * handler is answered with `budgetRefusal.status` (default 429).
 *
 * @throws CostspanError `invalid_argument` naming the option, when options are malformed
 * @example
 * ```ts
 * app.use('/api/*', costspanHono({ tracer, recorder, name: 'api', principal: (c) => ({ userId: c.req.header('x-user') }) }));
 * ```
 */
export function costspanHono<Context extends HonoContextLike = HonoContextLike>(
  options: CostspanHttpOptions<Context>,
): HonoMiddleware<Context> {
  const resolved = resolveHttpOptions(options);
  return async (context, next) => {
    let runId: string | undefined;
    let handedBack: () => void = () => undefined;
    const responseReady = new Promise<void>((resolve) => {
      handedBack = resolve;
    });
    const attributes = { 'http.request.method': context.req.method, 'url.path': context.req.path };
    const run = startRequestRun(resolved, context, attributes, async (agentRun) => {
      const id = agentRun.id;
      runId = id;
      resolved.recorder.begin(id, agentRun.span.spanContext().traceId);
      try {
        await next();
      } catch (error) {
        if (!isBudgetRefusal(error)) throw error;
        context.error = error;
      }
      const bodyDone = prepareResponse(resolved, context, id);
      handedBack();
      await bodyDone;
    });
    const ended = run.finally(() => endRequest(resolved, runId));
    // Hand the response back as soon as it is ready; the run ends when its body has been sent.
    await Promise.race([responseReady, ended]);
    ended.catch(() => undefined);
  };
}

/** Puts the refusal or the cost on `context.res`; resolves when its body has been read to the end or cancelled. */
function prepareResponse<Context>(options: ResolvedHttpOptions<Context>, context: HonoContextLike, runId: string): Promise<void> {
  const refusal = isBudgetRefusal(context.error) ? budgetRefusalResponse(context.error, options.refusal) : undefined;
  const original = refusal === undefined ? context.res : new Response(refusal.body, { status: refusal.status, headers: refusal.headers });
  const cost = (): ReturnType<typeof options.recorder.current> => options.recorder.current(runId);
  // A HEAD answer's body is never sent, read or cancelled (Hono answers HEAD with a GET route's headers only):
  // waiting for its end would keep the run open for good.
  const sent = context.req.method === 'HEAD' ? null : original.body;
  const eventStream = options.sseCostEvent && sent !== null && isEventStream(original.headers.get('content-type'));
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const body = sent === null ? original.body : watchBody(sent, eventStream ? () => sseCostEventText(cost()) : undefined, () => finish());
  const response = new Response(body, { status: original.status, statusText: original.statusText, headers: original.headers });
  response.headers.set(COST_HEADERS.runId, runId);
  if (!eventStream) {
    const now = cost();
    for (const [name, value] of Object.entries(costHeaders(now))) {
      response.headers.set(name, name === COST_HEADERS.serverTiming ? mergeServerTiming(original.headers.get(name) ?? '', now) : value);
    }
  }
  // Hono copies the old response's headers onto a new one; start from no old response.
  context.res = undefined as unknown as Response;
  context.res = response;
  if (sent === null) finish();
  return done;
}

/** A copy of `source` that calls `onEnd` when read to the end, errored or cancelled, after appending `trailer()` if given. */
function watchBody(source: ReadableStream<Uint8Array>, trailer: (() => string) | undefined, onEnd: () => void): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (!done) {
          controller.enqueue(value);
          return;
        }
        if (trailer !== undefined) controller.enqueue(new TextEncoder().encode(trailer()));
        controller.close();
        onEnd();
      } catch (error) {
        controller.error(error);
        onEnd();
      }
    },
    async cancel(reason) {
      onEnd();
      await reader.cancel(reason).catch(() => undefined);
    },
  });
}
