import { createServer } from 'node:http';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpHarness, listen, twoCalls, TWO_CALLS } from './__fixtures__/http-harness.js';
import { costspanNodeHandler, type NodeRequestHandler } from './node-handler.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: NodeRequestHandler, options: { trailers?: boolean; sseCostEvent?: boolean } = {}): Promise<string> {
  const harness = createHttpHarness();
  const listener = costspanNodeHandler({ tracer: harness.tracer, recorder: harness.recorder, ...options }, async (incoming, response) => {
    await twoCalls(harness.tracer);
    await handler(incoming, response);
  });
  const server = await listen(createServer((incoming, response) => void listener(incoming, response)));
  servers.push(server);
  return server.origin;
}

describe('instrumentResponse', () => {
  it('a body streamed with a Content-Length gets no Trailer header (Node would throw) and arrives whole', async () => {
    const origin = await serve((_incoming, response) => {
      response.writeHead(200, { 'content-length': '4' });
      response.write('ab');
      response.end('cd');
    });
    const answer = await request(origin);
    expect(await answer.body.text()).toBe('abcd');
    expect(answer.headers.trailer).toBeUndefined();
    expect(answer.trailers).toEqual({});
  });

  it('writeHead(status, reason, headers) keeps its status, reason and headers while the cost is added', async () => {
    const origin = await serve((_incoming, response) => {
      response.writeHead(201, 'Made', { 'x-app': 'yes' }).end('{}');
    });
    const answer = await request(origin);
    expect(answer.statusCode).toBe(201);
    expect(answer.headers['x-app']).toBe('yes');
    expect(answer.headers['x-costspan-cost-usd']).toBe(TWO_CALLS.costUsd);
  });

  it('trailers: false and sseCostEvent: false leave a streamed body as the handler wrote it', async () => {
    const origin = await serve(
      (_incoming, response) => {
        response.setHeader('content-type', 'text/event-stream');
        response.write('data: 1\n\n');
        response.end();
      },
      { trailers: false, sseCostEvent: false },
    );
    const answer = await request(origin);
    expect(await answer.body.text()).toBe('data: 1\n\n');
    expect(answer.trailers).toEqual({});
  });
});
