import { diag, DiagLogLevel } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { createCostTracer } from '@costspan/sdk';
import { captureDiag } from './__fixtures__/events.js';
import { OtlpReceiver } from './__fixtures__/otlp-receiver.js';
import { createCostspanOtlp } from './register-costspan.js';

const receivers: OtlpReceiver[] = [];

afterEach(async () => {
  diag.disable();
  await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
});

/** A resource as NodeSDK's detectors make it: some attributes arrive later (host, cloud, container ids). */
function detectedResource(): ReturnType<typeof resourceFromAttributes> {
  const later = <Value>(value: Value): Promise<Value> => new Promise((resolve) => setTimeout(() => resolve(value), 50));
  return resourceFromAttributes({
    'service.name': 'checkout',
    'service.version': '1.2.3',
    'host.id': later('host-7'),
    'cloud.region': later('eu-west-1'),
  });
}

describe('a NodeSDK-like provider whose resource has async attributes', () => {
  it('no "Accessing resource attributes before async attributes settled" from costspan, on spans or cost log records', async () => {
    const logs = captureDiag(DiagLogLevel.DEBUG);
    const collector = await new OtlpReceiver().start(0);
    receivers.push(collector);
    const resource = detectedResource();
    // As in a NodeSDK app: the provider has the detected resource, and costspan gets it too.
    const costspan = createCostspanOtlp({ endpoint: collector.url, resource, flushOnExit: false });
    const provider = new BasicTracerProvider({ resource, spanProcessors: costspan.spanProcessors });
    await createCostTracer({ tracerProvider: provider }).agentRun('planner', async (run) => {
      run.step('plan', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }));
    });
    const stats = await costspan.shutdown();
    await provider.shutdown();

    expect(logs.messages.filter((message) => message.includes('before async attributes settled'))).toEqual([]);
    // The async attributes arrive on both signals once settled.
    const log = collector.logs.find((record) => record.eventName === 'llm.cost.session.recorded')!;
    expect(log.resource).toMatchObject({ 'service.name': 'checkout', 'host.id': 'host-7', 'cloud.region': 'eu-west-1' });
    expect(collector.spans[0]?.resource).toMatchObject({ 'host.id': 'host-7' });
    expect(log.attributes.source).toBe('checkout@1.2.3');
    expect(stats.events).toMatchObject({ exported: 2, failed: 0 });
    expect(stats.spans).toMatchObject({ exported: 2, failed: 0 });
  });
});
