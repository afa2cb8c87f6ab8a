import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { CostSpanProcessor, InMemoryEventExporter, createCostTracer, type AgentRun } from '@costspan/sdk';

// The spanforge llm.cost doc example, run against the built package (dist) as a user installs it.
describe('built @costspan/sdk', () => {
  it('rolls the spanforge nested-agent example up to exactly 0.00525', async () => {
    const events = new InMemoryEventExporter();
    const spans = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new CostSpanProcessor({ source: 'orchestrator@1.0.0', exporters: [events] }), new SimpleSpanProcessor(spans)],
    });
    const tracer = createCostTracer({ tracerProvider: provider });
    tracer.agentRun('parent-agent', (parent) => {
      parent.step('research', (step) => {
        step.setTokenUsage({ input: 200, output: 100, total: 300 });
        step.setCost({ inputUsd: 0.0005, outputUsd: 0.001 });
      });
      parent.agentRun('child-summariser', (child) => {
        child.step('summarise', (step) => {
          step.setTokenUsage({ input: 500, output: 250, total: 750 });
          step.setCost({ inputUsd: 0.00125, outputUsd: 0.0025 });
        });
      });
    });
    await provider.forceFlush();
    const parent = spans.getFinishedSpans().find((span) => span.name === 'invoke_agent parent-agent');
    expect(parent?.attributes['llm.cost.own.total_usd']).toBe(0.0015);
    expect(parent?.attributes['llm.cost.inclusive.total_usd']).toBe(0.00525);
    const [session] = events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.total_cost).toEqual({ input_cost_usd: 0.00175, output_cost_usd: 0.0035, total_cost_usd: 0.00525 });
    expect(JSON.stringify(session?.payload.total_cost.total_cost_usd)).toBe('0.00525');
  });

  // The seed's own shape: the child started by `tracer.agentRun` inside the parent's callback, on a
  // BasicTracerProvider never register()ed (no context manager), synchronously and asynchronously.
  for (const mode of ['sync', 'async'] as const) {
    it(`nests tracer.agentRun without a context manager (${mode}): one session, inclusive 0.00525`, async () => {
      const events = new InMemoryEventExporter();
      const spans = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({
        spanProcessors: [new CostSpanProcessor({ source: 'orchestrator@1.0.0', exporters: [events] }), new SimpleSpanProcessor(spans)],
      });
      const tracer = createCostTracer({ tracerProvider: provider });
      const child = (): void =>
        tracer.agentRun('child-summariser', (run) => {
          run.step('summarise', (step) => {
            step.setTokenUsage({ input: 500, output: 250, total: 750 });
            step.setCost({ inputUsd: 0.00125, outputUsd: 0.0025 });
          });
        });
      const body = (parent: AgentRun): void =>
        parent.step('research', (step) => {
          step.setTokenUsage({ input: 200, output: 100, total: 300 });
          step.setCost({ inputUsd: 0.0005, outputUsd: 0.001 });
        });
      if (mode === 'sync') {
        tracer.agentRun('parent-agent', (parent) => {
          body(parent);
          child();
        });
      } else {
        await tracer.agentRun('parent-agent', async (parent) => {
          body(parent);
          await new Promise((resolve) => setTimeout(resolve, 1));
          child();
        });
      }
      await provider.forceFlush();
      const sessions = events.getEvents('llm.cost.session.recorded');
      expect(sessions).toHaveLength(1);
      expect(JSON.stringify(sessions[0]?.payload.total_cost.total_cost_usd)).toBe('0.00525');
      const finished = spans.getFinishedSpans();
      const parentSpan = finished.find((span) => span.name === 'invoke_agent parent-agent');
      const childSpan = finished.find((span) => span.name === 'invoke_agent child-summariser');
      expect(parentSpan?.attributes['llm.cost.inclusive.total_usd']).toBe(0.00525);
      expect(childSpan?.parentSpanContext?.spanId).toBe(parentSpan?.spanContext().spanId);
    });
  }
});
