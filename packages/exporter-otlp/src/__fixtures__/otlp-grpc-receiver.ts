import {
  Server,
  ServerCredentials,
  status,
  type Metadata,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
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
import { partialSuccessAnswer } from './otlp-receiver.js';

/** One call as the gRPC receiver saw it. */
export interface ReceivedCall {
  signal: OtlpSignalName;
  /** The gRPC status it was answered with (0 OK). */
  code: number;
  metadata: Record<string, unknown>;
}

/** A scripted answer instead of OK: a gRPC status, or OK with a partial success. */
export interface ScriptedGrpcAnswer {
  code?: number;
  details?: string;
  partialSuccess?: { rejected: number; errorMessage: string };
  /** Never answer (a hung collector). */
  hang?: boolean;
}

const SERVICES: Record<OtlpSignalName, string> = {
  trace: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
};

/** The three OTLP collector services, each `Export` carried as raw bytes and decoded with the official protos. */
function serviceOf(path: string): ServiceDefinition {
  const raw = (buffer: Buffer): Buffer => buffer;
  return {
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
  };
}

/**
 * A test OTLP/gRPC receiver on 127.0.0.1 (random port): a `@grpc/grpc-js` server implementing
 * `opentelemetry.proto.collector.{trace,logs,metrics}.v1.*Service/Export`, keeping what it accepted.
 */
export class OtlpGrpcReceiver {
  readonly logs: ReceivedLog[] = [];
  readonly spans: ReceivedSpan[] = [];
  readonly metrics: ReceivedMetric[] = [];
  readonly calls: ReceivedCall[] = [];
  /** Return a scripted answer, or undefined to accept. `index` counts the calls of that signal. */
  script: ((call: { signal: OtlpSignalName; index: number }) => ScriptedGrpcAnswer | undefined) | undefined;
  private server: Server | undefined;
  private readonly counts: Record<OtlpSignalName, number> = { trace: 0, logs: 0, metrics: 0 };
  port = 0;

  /** `http://127.0.0.1:<port>`: a plaintext gRPC endpoint. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = new Server();
    for (const signal of Object.keys(SERVICES) as OtlpSignalName[]) {
      const implementation: UntypedServiceImplementation = {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => this.handle(signal, call, callback),
      };
      server.addService(serviceOf(SERVICES[signal]), implementation);
    }
    this.port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
    });
    this.server = server;
    return this;
  }

  /** Stops at once, cutting open calls. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.forceShutdown();
    await Promise.resolve();
  }

  /** Event ids of the log records received, in order. */
  eventIds(): string[] {
    return this.logs.map((log) => String(log.attributes.event_id));
  }

  private handle(signal: OtlpSignalName, call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void {
    const index = this.counts[signal]++;
    const scripted = this.script?.({ signal, index });
    const code: number = scripted?.code ?? status.OK;
    this.calls.push({ signal, code, metadata: metadataMap(call.metadata) });
    if (scripted?.hang === true) return;
    if (code !== (status.OK as number)) {
      callback({ code, details: scripted?.details ?? 'scripted failure' });
      return;
    }
    try {
      const decoded = decodeRequest(signal, call.request);
      if (signal === 'logs') this.logs.push(...logsOf(decoded));
      else if (signal === 'trace') this.spans.push(...spansOf(decoded));
      else this.metrics.push(...metricsOf(decoded));
    } catch (error) {
      callback({ code: status.INVALID_ARGUMENT, details: String(error) });
      return;
    }
    callback(null, encodeResponse(signal, partialSuccessAnswer(signal, scripted?.partialSuccess)));
  }
}

function metadataMap(metadata: Metadata): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) map[key] = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  return map;
}
