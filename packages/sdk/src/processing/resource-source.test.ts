import { diag, DiagLogLevel } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { CostSpanProcessor } from './cost-span-processor.js';
import { createCostTracer } from '../tracing/cost-tracer.js';
import { InMemoryEventExporter } from '../export/in-memory-event-exporter.js';

afterEach(() => diag.disable());

function captureDiag(): string[] {
  const messages: string[] = [];
  const keep = (...parts: unknown[]): void => void messages.push(parts.map(String).join(' '));
  diag.setLogger({ verbose: keep, debug: keep, info: keep, warn: keep, error: keep }, DiagLogLevel.ALL);
  return messages;
}

function run(resource: ReturnType<typeof resourceFromAttributes>): { events: InMemoryEventExporter; provider: BasicTracerProvider } {
  const events = new InMemoryEventExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new CostSpanProcessor({ exporters: [events] })] });
  createCostTracer({ tracerProvider: provider }).agentRun('r', (agent) =>
    agent.step('s', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })),
  );
  return { events, provider };
}

describe('event source from the resource', () => {
  it('reads no resource attributes while async ones are pending (as NodeSDK host and process detectors leave them)', async () => {
    const messages = captureDiag();
    let settle: (value: string) => void = () => undefined;
    const hostId = new Promise<string>((resolve) => (settle = resolve));
    const resource = resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '2.3', 'host.id': hostId });
    expect(resource.asyncAttributesPending).toBe(true);
    const { events, provider } = run(resource);
    await provider.forceFlush();
    expect(messages.filter((message) => message.includes('before async attributes settled'))).toEqual([]);
    expect(new Set(events.getEvents().map((event) => event.source))).toEqual(new Set(['checkout@2.3.0']));
    expect(events.getEvents()).toHaveLength(2);
    settle('host-1');
  });

  it('does not keep a source derived while service.name itself is pending', async () => {
    const messages = captureDiag();
    const resource = resourceFromAttributes({ 'service.name': Promise.resolve('late-name'), 'service.version': '1.0.0' });
    const first = run(resource);
    await first.provider.forceFlush();
    expect(first.events.getEvents()[0]?.source).toBe('unknown_service@1.0.0');
    // The processor asked the resource to settle; later events carry the settled name.
    await resource.waitForAsyncAttributes?.();
    const events = new InMemoryEventExporter();
    const processor = new CostSpanProcessor({ exporters: [events] });
    const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
    createCostTracer({ tracerProvider: provider }).agentRun('r', (agent) =>
      agent.step('s', (step) => step.setCost({ inputUsd: 0, outputUsd: 0 })),
    );
    await provider.forceFlush();
    expect(events.getEvents()[0]?.source).toBe('late-name@1.0.0');
    expect(messages.filter((message) => message.includes('before async attributes settled'))).toEqual([]);
  });

  it('a settled resource gives service.name@service.version, unknown versions as 0.0.0', async () => {
    for (const [version, source] of [
      ['4', 'billing@4.0.0'],
      ['dev', 'billing@0.0.0'],
    ]) {
      const { events, provider } = run(resourceFromAttributes({ 'service.name': 'billing', 'service.version': version }));
      await provider.forceFlush();
      expect(events.getEvents()[0]?.source).toBe(source);
    }
  });
});
