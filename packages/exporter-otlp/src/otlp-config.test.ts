import { diag } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resetNotices } from '@costspan/sdk/internal';
import { captureDiag } from './__fixtures__/events.js';
import { resolveProtocol, signalUrl } from './otlp-config.js';

afterEach(() => {
  diag.disable();
  vi.unstubAllEnvs();
  resetNotices();
});

describe('OTLP protocol', () => {
  it('grpc is supported: from OTEL_EXPORTER_OTLP_PROTOCOL for every signal, a per-signal variable first, no warning', () => {
    const logs = captureDiag();
    vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc');
    expect(resolveProtocol('TRACES', undefined)).toBe('grpc');
    expect(resolveProtocol('LOGS', undefined)).toBe('grpc');
    expect(resolveProtocol('METRICS', undefined)).toBe('grpc');
    vi.stubEnv('OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'http/json');
    expect(resolveProtocol('METRICS', undefined)).toBe('http/json');
    expect(resolveProtocol('METRICS', 'http/protobuf')).toBe('http/protobuf');
    expect(logs.messages).toEqual([]);
  });

  it('an unsupported value is told once, naming its variable, whichever signals read it', () => {
    const logs = captureDiag();
    vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc/web');
    expect(resolveProtocol('TRACES', undefined)).toBe('http/protobuf');
    expect(resolveProtocol('LOGS', undefined)).toBe('http/protobuf');
    expect(resolveProtocol('METRICS', undefined)).toBe('http/protobuf');
    expect(logs.messages).toHaveLength(1);
    expect(logs.messages[0]).toContain('"grpc/web" from OTEL_EXPORTER_OTLP_PROTOCOL');
  });

  it('signalUrl appends the signal path over HTTP and keeps a gRPC endpoint as is', () => {
    expect(signalUrl('http://127.0.0.1:4318', 'v1/metrics')).toBe('http://127.0.0.1:4318/v1/metrics');
    expect(signalUrl('http://127.0.0.1:4318/', 'v1/logs', 'http/json')).toBe('http://127.0.0.1:4318/v1/logs');
    expect(signalUrl('http://127.0.0.1:4317', 'v1/traces', 'grpc')).toBe('http://127.0.0.1:4317');
    expect(signalUrl(undefined, 'v1/traces', 'grpc')).toBeUndefined();
  });
});
