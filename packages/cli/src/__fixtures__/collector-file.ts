import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';

// protobufjs code generated from the official OTLP .proto files (shipped in @opentelemetry/otlp-transformer).
const require = createRequire(import.meta.url);
interface ProtoType {
  decode(buffer: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): Record<string, unknown>;
}
const root = require('otlp-proto/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { logs: { v1: { ExportLogsServiceRequest: ProtoType } } } } };
};
const ExportLogsServiceRequest = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;

/**
 * A stand-in for an OpenTelemetry Collector with an OTLP/HTTP receiver and the
 * `file` exporter, on 127.0.0.1: decodes each protobuf `/v1/logs` request and
 * keeps it as the line the file exporter writes (the OTLP/JSON mapping: int64
 * as decimal strings, trace and span ids as hex, enums as numbers, defaults
 * left out). `failAfterWriting` requests are written and then answered 503, as
 * when the collector's answer is lost: the exporter sends them again, and the
 * file holds those records twice (OTLP delivery is at least once).
 */
export class CollectorFileReceiver {
  /** The file exporter's lines, one request each. */
  readonly lines: string[] = [];
  failAfterWriting = 0;
  private server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => void this.handle(request, response).catch(() => response.destroy()));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks);
    if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    if (request.url !== '/v1/logs' || !String(request.headers['content-type']).includes('protobuf')) {
      response.writeHead(415);
      response.end();
      return;
    }
    const decoded = ExportLogsServiceRequest.toObject(ExportLogsServiceRequest.decode(body), {
      longs: String,
      enums: Number,
      bytes: String,
      defaults: false,
    });
    this.lines.push(JSON.stringify(toCollectorJson(decoded)));
    if (this.failAfterWriting > 0) {
      this.failAfterWriting -= 1;
      response.writeHead(503, { 'retry-after': '0' });
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/x-protobuf' });
    response.end();
  }
}

/** protobufjs' plain object to the OTLP/JSON mapping: bytes fields that are ids become hex (protobufjs gives base64). */
function toCollectorJson(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => toCollectorJson(item));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) out[name] = toCollectorJson(item, name);
    return out;
  }
  if ((key === 'traceId' || key === 'spanId') && typeof value === 'string') return Buffer.from(value, 'base64').toString('hex');
  return value;
}
