import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  decodeRequest,
  encodeResponse,
  logsOf,
  metricsOf,
  spansOf,
  type OtlpSignalName,
  type ReceivedLog,
  type ReceivedMetric,
  type ReceivedSpan,
} from './otlp-decode.js';

export type { ReceivedDataPoint, ReceivedLog, ReceivedMetric, ReceivedSpan } from './otlp-decode.js';

/** What one request looked like. */
export interface ReceivedRequest {
  path: string;
  contentType: string;
  headers: IncomingMessage['headers'];
  status: number;
}

/** A scripted answer instead of 200: status, headers, and for 200 an optional partial success. */
export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  partialSuccess?: { rejected: number; errorMessage: string };
  /** Hold the request this long before answering (a slow collector). */
  delayMillis?: number;
  /** Never answer (a hung collector). */
  hang?: boolean;
}

/**
 * A test OTLP/HTTP receiver on 127.0.0.1 (random port): decodes protobuf and
 * JSON requests for `/v1/traces`, `/v1/logs` and `/v1/metrics` and keeps what it accepted.
 */
export class OtlpReceiver {
  readonly logs: ReceivedLog[] = [];
  readonly spans: ReceivedSpan[] = [];
  /** Metrics of every accepted export request, in order (cumulative exports repeat the totals). */
  readonly metrics: ReceivedMetric[] = [];
  readonly requests: ReceivedRequest[] = [];
  /** Return a scripted answer, or undefined to accept. */
  script: ((request: { path: string; index: number }) => ScriptedResponse | undefined) | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private requestCount = 0;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts listening; on `port` when given (e.g. to come back after {@link stop}). */
  async start(port = this.port): Promise<this> {
    // A client that gives up mid-request (a test ending, an exporter timing out) is not an error here.
    const server = createServer((request, response) => void this.handle(request, response).catch(() => response.destroy()));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and cuts every open connection (a collector that dies). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Event ids of the log records received, in order. */
  eventIds(): string[] {
    return this.logs.map((log) => String(log.attributes.event_id));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks);
    if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const path = request.url ?? '';
    const contentType = String(request.headers['content-type'] ?? '');
    const json = contentType.includes('json');
    const index = this.requestCount++;
    const scripted = this.script?.({ path, index });
    this.requests.push({ path, contentType, headers: request.headers, status: scripted?.status ?? 200 });
    if (scripted?.hang === true) return;
    if (scripted?.delayMillis !== undefined) await new Promise((resolve) => setTimeout(resolve, scripted.delayMillis));
    if (scripted !== undefined && scripted.status !== 200) {
      response.writeHead(scripted.status, scripted.headers ?? {});
      response.end();
      return;
    }
    const signal: OtlpSignalName | undefined =
      path === '/v1/logs' ? 'logs' : path === '/v1/traces' ? 'trace' : path === '/v1/metrics' ? 'metrics' : undefined;
    if (signal === undefined) {
      response.writeHead(404);
      response.end();
      return;
    }
    try {
      const decoded = json ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : decodeRequest(signal, body);
      if (signal === 'logs') this.logs.push(...logsOf(decoded));
      else if (signal === 'trace') this.spans.push(...spansOf(decoded));
      else this.metrics.push(...metricsOf(decoded));
    } catch (error) {
      response.writeHead(400);
      response.end(String(error));
      return;
    }
    const answer = partialSuccessAnswer(signal, scripted?.partialSuccess);
    if (json) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    } else {
      response.writeHead(200, { 'content-type': 'application/x-protobuf' });
      response.end(encodeResponse(signal, answer));
    }
  }
}

/** The export response for a scripted partial success (empty when none). */
export function partialSuccessAnswer(
  signal: OtlpSignalName,
  partial: { rejected: number; errorMessage: string } | undefined,
): Record<string, unknown> {
  if (partial === undefined) return {};
  const field = signal === 'logs' ? 'rejectedLogRecords' : signal === 'trace' ? 'rejectedSpans' : 'rejectedDataPoints';
  return { partialSuccess: { [field]: partial.rejected, errorMessage: partial.errorMessage } };
}
