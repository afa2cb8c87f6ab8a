// @costspan/exporter-otlp's processors on a 3.x TracerProvider, sending to a local OTLP/HTTP receiver.
import { createServer } from 'node:http';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostTracer } from '@costspan/sdk';
import { installContextManager, spanforgeExample } from './harness.mjs';

// Imported lazily so that a module that cannot load fails (and is counted as) tests, not a whole file.
const exporterOtlp = import('@costspan/exporter-otlp');
exporterOtlp.catch(() => {});

/** Counts requests per path and keeps their bodies; answers 200 with an empty (valid) OTLP response. */
function startReceiver() {
  const requests = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ path: request.url, type: request.headers['content-type'], body: Buffer.concat(chunks) });
      const json = String(request.headers['content-type']).includes('json');
      response.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      response.end(json ? '{}' : undefined);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ requests, endpoint: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(done)) });
    });
  });
}

let receiver;

beforeAll(async () => {
  installContextManager();
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver.close();
});

async function runThroughOtlp(protocol) {
  const { createCostspanOtlp } = await exporterOtlp;
  receiver.requests.length = 0;
  const costspan = createCostspanOtlp({
    endpoint: receiver.endpoint,
    protocol,
    serviceName: 'compat-otel3',
    flushOnExit: false,
    timeoutMillis: 5000,
  });
  const provider = new TracerProvider({ spanProcessors: costspan.spanProcessors });
  try {
    await spanforgeExample(createCostTracer({ tracerProvider: provider }));
    return { stats: await costspan.forceFlush({ timeoutMillis: 10_000 }), requests: [...receiver.requests] };
  } finally {
    await costspan.shutdown({ timeoutMillis: 5000 });
    await provider.shutdown();
  }
}

describe('createCostspanOtlp on a 3.x provider', () => {
  it('the entry point loads with only the 3.x SDK installed (no @opentelemetry/sdk-trace-base)', async () => {
    await expect(exporterOtlp).resolves.toHaveProperty('createCostspanOtlp');
  });

  it('exports spans to /v1/traces and cost events to /v1/logs (http/protobuf)', async () => {
    const { stats, requests } = await runThroughOtlp(undefined);
    const paths = requests.map((request) => request.path);
    expect(paths.filter((path) => path === '/v1/traces').length).toBeGreaterThanOrEqual(1);
    expect(paths.filter((path) => path === '/v1/logs').length).toBeGreaterThanOrEqual(1);
    expect(requests.every((request) => request.type === 'application/x-protobuf' && request.body.length > 0)).toBe(true);
    // 2 runs + 2 steps; 2 token events + 1 session event (+ attribution) as log records.
    expect(stats.spans).toMatchObject({ exported: 4, failed: 0, dropped: 0, pending: 0 });
    expect(stats.events).toMatchObject({ failed: 0, dropped: 0, pending: 0 });
    expect(stats.events.exported).toBe(stats.events.queued);
    expect(stats.events.exported).toBeGreaterThanOrEqual(3);
  });

  it('the roll-up reaches the collector (http/json, decoded)', async () => {
    const { requests } = await runThroughOtlp('http/json');
    const traces = requests.filter((request) => request.path === '/v1/traces').map((request) => JSON.parse(request.body.toString('utf8')));
    const logs = requests.filter((request) => request.path === '/v1/logs').map((request) => request.body.toString('utf8'));
    expect(traces.length).toBeGreaterThanOrEqual(1);
    expect(logs.length).toBeGreaterThanOrEqual(1);
    const spans = traces.flatMap((body) => body.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)));
    const parent = spans.find((span) => span.name === 'invoke_agent parent-agent');
    const inclusive = parent.attributes.find((attribute) => attribute.key === 'llm.cost.inclusive.total_usd');
    expect(inclusive.value.doubleValue).toBe(0.00525);
    expect(logs.join('\n')).toContain('llm.cost.session.recorded');
  });
});
