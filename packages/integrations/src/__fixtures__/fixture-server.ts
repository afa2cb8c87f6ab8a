import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const fixturesDir = new URL('./', import.meta.url);

/** Reads a fixture file of this directory as text. */
export function readFixture(name: string): string {
  return readFileSync(new URL(name, fixturesDir), 'utf8');
}

/** A body sent as it is, with its content type: binary AWS event streams, audio, other SSE dialects. */
export class RawFixture {
  constructor(
    readonly body: Buffer | string,
    readonly contentType: string,
    /** Send the body, then drop the connection: a stream cut off mid-way. */
    readonly hangUp = false,
  ) {}
}

/** A request the server received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The JSON body, or `{ raw: text }` for other bodies (multipart uploads). */
  body: Record<string, unknown>;
}

/**
 * A local stand-in for a provider API on 127.0.0.1: each request to a path
 * is answered with the next fixture queued for it, `.json` as a JSON body and
 * `.sse` as a `text/event-stream`, so the real SDK clients parse recorded
 * responses without any network.
 */
export interface FixtureServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  requests: ReceivedRequest[];
  /** Queues fixture files (or inline JSON bodies) to answer requests to `path` with, in order. */
  enqueue(path: string, ...fixtures: Array<string | object | RawFixture>): void;
  close(): Promise<void>;
}

export async function startFixtureServer(): Promise<FixtureServer> {
  const queues = new Map<string, Array<string | object | RawFixture>>();
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: request.method ?? 'GET',
        path,
        headers: request.headers,
        body: parseBody(text),
      });
      const fixture = queues.get(path)?.shift();
      if (fixture === undefined) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: `no fixture queued for ${request.method} ${path}` } }));
        return;
      }
      if (fixture instanceof RawFixture) {
        response.writeHead(200, { 'content-type': fixture.contentType });
        if (fixture.hangUp) response.write(fixture.body, () => setTimeout(() => response.destroy(), 20));
        else response.end(fixture.body);
        return;
      }
      if (typeof fixture === 'string' && fixture.endsWith('.sse')) {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        response.end(readFixture(fixture));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_fixture' });
      response.end(typeof fixture === 'string' ? readFixture(fixture) : JSON.stringify(fixture));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    enqueue(path, ...fixtures) {
      const queue = queues.get(path) ?? [];
      queue.push(...fixtures);
      queues.set(path, queue);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function parseBody(text: string): Record<string, unknown> {
  if (text === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { raw: text };
  }
}
