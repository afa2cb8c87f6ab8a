import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  ParentBasedSampler,
  AlwaysOffSampler,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { installContextManager } from '../__fixtures__/harness.js';
import { CostRecordingSampler } from './cost-recording-sampler.js';
import { CostSpanProcessor } from './cost-span-processor.js';
import { createCostTracer } from '../tracing/cost-tracer.js';
import { InMemoryEventExporter } from '../export/in-memory-event-exporter.js';

async function runWith(
  sampler: ParentBasedSampler | CostRecordingSampler | AlwaysOffSampler,
): Promise<{ events: InMemoryEventExporter; spans: InMemorySpanExporter }> {
  installContextManager();
  const events = new InMemoryEventExporter();
  const spans = new InMemorySpanExporter();
  const processor = new CostSpanProcessor({ source: 'sampled@1.0.0', exporters: [events] });
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [processor, new SimpleSpanProcessor(spans)] });
  const tracer = createCostTracer({ tracerProvider: provider });
  for (let index = 0; index < 20; index += 1) {
    await tracer.agentRun('agent', async (run) => {
      run.agentRun('child', (child) => child.step('call', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
    });
  }
  await provider.forceFlush();
  return { events, spans };
}

describe('CostRecordingSampler', () => {
  it('a sampler that drops every trace hides every cost from span processors', async () => {
    const { events } = await runWith(new AlwaysOffSampler());
    expect(events.getEvents()).toHaveLength(0);
  });

  it('records what the sampler drops: every cost counted, only sampled spans exported', async () => {
    const { events, spans } = await runWith(new CostRecordingSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) })));
    const sessions = events.getEvents('llm.cost.session.recorded');
    expect(sessions).toHaveLength(20);
    expect(sessions.every((event) => event.payload.total_cost.total_cost_usd === 0.001)).toBe(true);
    expect(spans.getFinishedSpans()).toHaveLength(0);
  });

  it('leaves sampled decisions alone', async () => {
    const { events, spans } = await runWith(new CostRecordingSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(1) })));
    expect(events.getEvents('llm.cost.session.recorded')).toHaveLength(20);
    expect(spans.getFinishedSpans()).toHaveLength(60);
    expect(new CostRecordingSampler(new AlwaysOffSampler()).toString()).toBe('CostRecordingSampler{AlwaysOffSampler}');
  });
});
