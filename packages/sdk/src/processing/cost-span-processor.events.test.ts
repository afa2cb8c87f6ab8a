import { diag, DiagLogLevel } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';
import { canonicalJson, serializeEvent, type CostEvent } from '../events/cost-event.js';
import { CostTracker } from '../events/cost-tracker.js';

afterEach(() => {
  diag.disable();
});

describe('events and attribution', () => {
  it('attributes a root run to every target of its principal, inherited by nested runs', async () => {
    const harness = createHarness();
    const tracker = new CostTracker();
    const withTracker = createHarness({ listeners: [tracker] });
    for (const { tracer } of [harness, withTracker]) {
      await tracer.agentRun(
        'support',
        { principal: { userId: 'alice', teamId: 'search', orgId: 'acme', tags: { env: 'prod' } } },
        async (run) => {
          run.step('plan', (step) => step.setCost({ inputUsd: 0.002, outputUsd: 0.001 }));
          run.agentRun('helper', { principal: { userId: 'bob' } }, (helper) =>
            helper.step('call', (step) => step.setCost({ inputUsd: 0.004, outputUsd: 0 })),
          );
        },
      );
    }
    await harness.flush();
    const attributed = harness.events.getEvents('llm.cost.attributed');
    const byTarget = Object.fromEntries(attributed.map((event) => [event.payload.attribution_target, event.payload.cost]));
    expect(byTarget['user:alice']).toEqual({ input_cost_usd: 0.002, output_cost_usd: 0.001, total_cost_usd: 0.003 });
    expect(byTarget['user:bob']?.total_cost_usd).toBe(0.004);
    expect(byTarget['team:search']?.total_cost_usd).toBe(0.007);
    expect(byTarget['org:acme']?.total_cost_usd).toBe(0.007);
    expect(byTarget['tag:env=prod']?.total_cost_usd).toBe(0.007);
    for (const event of attributed) {
      expect(event.payload.attribution_type).toBe('direct');
      expect(event.payload.source_event_ids?.length).toBeGreaterThan(0);
    }
    const token = harness.events.getEvents('llm.cost.token.recorded').find((event) => event.payload.agent_name === 'helper') as CostEvent;
    expect(token.actor_id).toBe('bob');
    expect(token.team_id).toBe('search');
    expect(token.org_id).toBe('acme');
    expect(token.tags).toEqual({ env: 'prod' });
    expect(token.payload.scope).toBe('support/helper/call');
    const supportRunId = harness.events.getEvents('llm.cost.session.recorded')[0]?.payload.agent_run_id;
    expect(token.payload.parent_run_id).toBe(supportRunId);

    const summary = tracker.summary();
    expect(summary.totalCostUsd).toBe(0.007);
    expect(summary.byAgent).toEqual({
      helper: expect.objectContaining({ totalCostUsd: 0.004, calls: 1 }),
      support: expect.objectContaining({ totalCostUsd: 0.003, calls: 1 }),
    });
    expect(summary.byScope['support/plan']?.totalCostUsd).toBe(0.003);
    expect(summary.byPrincipal['team:search']?.totalCostUsd).toBe(0.007);
    expect(summary.runs).toBe(1);
  });

  it('every event has a ULID id, a 6-digit UTC timestamp, trace and span ids', async () => {
    const harness = createHarness();
    harness.tracer.agentRun(
      'ids',
      { principal: { userId: 'u', orgId: 'o', teamId: 't', tags: { z: '1', a: '2' } }, sessionId: 'chat-1' },
      (run) =>
        run.step('s', (step) =>
          step
            .setModel('gpt-4o', 'openai')
            .setTokenUsage({ input: 10, output: 5, cacheRead: 4, reasoning: 1 })
            .setCost({ inputUsd: 0.001, outputUsd: 0, cachedDiscountUsd: 0.0001, reasoningUsd: 0.0002 }),
        ),
    );
    await harness.flush();
    const events = harness.events.getEvents();
    expect(events.map((event) => event.event_type)).toEqual([
      'llm.cost.token.recorded',
      'llm.cost.session.recorded',
      'llm.cost.attributed',
      'llm.cost.attributed',
      'llm.cost.attributed',
      'llm.cost.attributed',
      'llm.cost.attributed',
    ]);
    const ids = events.map((event) => event.event_id);
    expect([...ids].sort()).toEqual(ids);
    for (const event of events) {
      expect(event.event_id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
      expect(event.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      expect(event.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(event.source).toBe('test-app@1.0.0');
      // Built in key order: canonical serialisation is the native one (the fast path).
      expect(canonicalJson(event)).toBe(JSON.stringify(event));
      expect(serializeEvent(event)).toBe(JSON.stringify(event));
    }
  });

  it("puts a run's session id on every event of its tree; a nested run's own one wins below it", async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('chat', { principal: { userId: 'u' }, sessionId: 'chat-1' }, async (run) => {
      run.step('answer', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 10, output: 5 }));
      run.agentRun('helper', (helper) => helper.step('lookup', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
      run.agentRun('side', { sessionId: 'side-7' }, (side) =>
        side.step('draft', (step) => step.setCost({ inputUsd: 0.002, outputUsd: 0 })),
      );
    });
    await harness.flush();
    const sessionOf = (scope: string): unknown =>
      harness.events.getEvents('llm.cost.token.recorded').find((event) => event.payload.scope === scope)?.session_id;
    expect(sessionOf('chat/answer')).toBe('chat-1');
    expect(sessionOf('chat/helper/lookup')).toBe('chat-1');
    expect(sessionOf('chat/side/draft')).toBe('side-7');
    const rest = [...harness.events.getEvents('llm.cost.session.recorded'), ...harness.events.getEvents('llm.cost.attributed')];
    expect(rest.length).toBeGreaterThan(1);
    for (const event of rest) expect(event.session_id).toBe('chat-1');
    // Without a session id, no event has one.
    const plain = createHarness();
    plain.tracer.agentRun('plain', (run) => run.step('s', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
    await plain.flush();
    expect(plain.events.getEvents().length).toBeGreaterThan(0);
    for (const event of plain.events.getEvents()) expect(event).not.toHaveProperty('session_id');
  });

  it('derives the source from the resource when none is given', async () => {
    const { resourceFromAttributes } = await import('@opentelemetry/resources');
    const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
    const { CostSpanProcessor } = await import('./cost-span-processor.js');
    const { InMemoryEventExporter } = await import('../export/in-memory-event-exporter.js');
    const { createCostTracer } = await import('../tracing/cost-tracer.js');
    const events = new InMemoryEventExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '2.3.4' }),
      spanProcessors: [new CostSpanProcessor({ exporters: [events] })],
    });
    createCostTracer({ tracerProvider: provider }).agentRun('r', (run) =>
      run.step('s', (step) => step.setCost({ inputUsd: 0, outputUsd: 0 })),
    );
    await provider.forceFlush();
    expect(events.getEvents()[0]?.source).toBe('checkout@2.3.4');
  });
});

describe('bounded memory', () => {
  it('forgets the oldest spans past maxOpenSpans and reports it', async () => {
    const warn = vi.fn();
    diag.setLogger(
      { verbose: () => undefined, debug: () => undefined, info: () => undefined, warn, error: () => undefined },
      DiagLogLevel.WARN,
    );
    const harness = createHarness({ maxOpenSpans: 100 });
    const other = harness.provider.getTracer('leaky');
    harness.tracer.agentRun('leaky-run', (run) => {
      for (let index = 0; index < 1000; index += 1) other.startSpan(`never-ends-${index}`, {}, run.context);
    });
    expect(harness.processor.stats().openSpans).toBeLessThanOrEqual(100);
    expect(harness.processor.stats().evictedSpans).toBeGreaterThan(0);
    expect(warn).toHaveBeenCalled();
  });

  it('releases every span of finished runs', async () => {
    const harness = createHarness();
    for (let index = 0; index < 50; index += 1) {
      await harness.tracer.agentRun('r', async (run) => {
        run.agentRun('child', (child) => child.step('s', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
      });
    }
    expect(harness.processor.stats().openSpans).toBe(0);
  });
});
