import { diag } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resetNotices } from '@costspan/sdk/internal';
import { captureDiag } from './__fixtures__/events.js';
import { resolveProtocol } from './otlp-config.js';
import { createCostspanOtlp } from './register-costspan.js';

afterEach(() => {
  diag.disable();
  vi.unstubAllEnvs();
  resetNotices();
});

describe('OTLP protocol', () => {
  it('OTEL_EXPORTER_OTLP_PROTOCOL=grpc: one warning for the whole setup, and http/protobuf is used', async () => {
    const logs = captureDiag();
    vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc');
    const costspan = createCostspanOtlp({ endpoint: 'http://127.0.0.1:9', flushOnExit: false });
    await costspan.shutdown({ timeoutMillis: 500 });

    const warnings = logs.messages.filter((message) => message.includes('unsupported OTLP protocol "grpc"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('OTEL_EXPORTER_OTLP_PROTOCOL');
    expect(costspan.logExporter.protocol).toBe('http/protobuf');
    expect(resolveProtocol('TRACES', undefined)).toBe('http/protobuf');
  });
});
