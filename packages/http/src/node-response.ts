import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { notice } from '@costspan/sdk/internal';
import { COST_HEADERS, costHeaders, isEventStream, mergeServerTiming, sseCostEventText, TRAILER_NAMES } from './cost-headers.js';
import type { RequestCost } from './request-cost-recorder.js';

/** What {@link instrumentResponse} needs to know. */
export interface ResponseCostSettings {
  /** The request's cost at this moment. */
  cost: () => RequestCost;
  trailers: boolean;
  sseCostEvent: boolean;
}

type Write = ServerResponse['write'];
type End = ServerResponse['end'];

/**
 * Puts the request's cost on a Node response: as headers when the whole body is given to `end()`
 * before any `write()` (Express `res.send`/`res.json`, Fastify, `res.end(body)`), else, for a
 * streamed body, as HTTP trailers (when the response is chunked) and, for `text/event-stream`,
 * as a final `event: costspan-cost`. `writeHead(status, headers)` is held back until the first
 * byte so that headers can still be added; `res.headersSent` stays false until then.
 */
export function instrumentResponse(request: IncomingMessage, response: ServerResponse, settings: ResponseCostSettings): void {
  const original = {
    writeHead: response.writeHead.bind(response) as (...values: unknown[]) => ServerResponse,
    write: response.write.bind(response) as (...values: unknown[]) => boolean,
    end: response.end.bind(response) as (...values: unknown[]) => ServerResponse,
    flushHeaders: response.flushHeaders.bind(response),
  };
  let started = false;
  let heldStatus = false;
  let streamTrailers = false;
  let streamEvent = false;

  response.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]): ServerResponse {
    const [statusCode, reasonOrHeaders, maybeHeaders] = args;
    const headers = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders;
    // Once the body has started (or raw header arrays we cannot merge), pass straight through.
    if (started || response.headersSent || Array.isArray(headers) || typeof statusCode !== 'number') {
      return original.writeHead(...args);
    }
    response.statusCode = statusCode;
    if (typeof reasonOrHeaders === 'string') response.statusMessage = reasonOrHeaders;
    for (const [name, value] of Object.entries((headers ?? {}) as OutgoingHttpHeaders)) {
      if (value !== undefined) response.setHeader(name, value);
    }
    heldStatus = true;
    return response;
  };

  const start = (wholeBody: boolean): void => {
    if (started || response.headersSent) {
      started = true;
      return;
    }
    started = true;
    guarded(() => {
      if (wholeBody) setCostHeaders(response, settings.cost());
      else {
        streamEvent = settings.sseCostEvent && isEventStream(response.getHeader('content-type'));
        streamTrailers = settings.trailers && willBeChunked(request, response);
        if (streamTrailers) response.setHeader('trailer', TRAILER_NAMES.join(', '));
      }
    });
    if (heldStatus) {
      const message = response.statusMessage;
      original.writeHead(response.statusCode, ...(message ? [message] : []));
    }
  };

  response.flushHeaders = function flushHeaders(this: ServerResponse): void {
    start(false);
    original.flushHeaders();
  };

  response.write = function write(this: ServerResponse, ...args: unknown[]): boolean {
    start(false);
    return retryWithoutTrailer(() => original.write(...args));
  } as Write;

  response.end = function end(this: ServerResponse, ...args: unknown[]): ServerResponse {
    if (!started) {
      start(true);
      return original.end(...args);
    }
    if (!streamTrailers && !streamEvent) return original.end(...args);
    // end(chunk, encoding, callback): write the last chunk, then the cost, then end.
    const callback = args.find((value) => typeof value === 'function');
    const [chunk, encoding] = typeof args[0] === 'function' ? [] : args;
    if (chunk !== undefined && chunk !== null) original.write(chunk, ...(typeof encoding === 'string' ? [encoding] : []));
    guarded(() => {
      const cost = settings.cost();
      if (streamEvent && !response.writableEnded) original.write(sseCostEventText(cost));
      if (streamTrailers) response.addTrailers(costHeaders(cost));
    });
    return original.end(...(callback === undefined ? [] : [callback]));
  } as End;

  // `Trailer` on a response Node will not chunk makes it throw; fall back to no trailers.
  function retryWithoutTrailer<Value>(operation: () => Value): Value {
    try {
      return operation();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_HTTP_TRAILER_INVALID' || response.headersSent) throw error;
      response.removeHeader('trailer');
      streamTrailers = false;
      return operation();
    }
  }
}

/** Adds the cost headers to a response whose headers are not sent yet. */
export function setCostHeaders(response: ServerResponse, cost: RequestCost): void {
  for (const [name, value] of Object.entries(costHeaders(cost))) {
    response.setHeader(name, name === COST_HEADERS.serverTiming ? mergeServerTiming(response.getHeader(name), cost) : value);
  }
}

/** Node chunks a body (and so can send trailers) on HTTP/1.1 without Content-Length, unless the status or method has no body. */
function willBeChunked(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.httpVersionMajor !== 1 || request.httpVersionMinor < 1) return false;
  if (request.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304) return false;
  if (response.getHeader('content-length') !== undefined) return false;
  const transferEncoding = response.getHeader('transfer-encoding');
  return transferEncoding === undefined || /\bchunked\b/i.test(String(transferEncoding));
}

function guarded(operation: () => void): void {
  try {
    operation();
  } catch (error) {
    notice(
      'http_cost_headers_failed',
      `could not put the request's cost on the response (${error instanceof Error ? error.message : String(error)}); the response is sent without it.`,
    );
  }
}
