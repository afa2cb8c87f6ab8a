import { describe, expect, it } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';
import { CostTracker } from './cost-tracker.js';
import { LatencyStats } from './latency-stats.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('latency beside cost', () => {
  it('token events carry their span duration as latency_ms, and the tracker summarises it per group', async () => {
    const tracker = new CostTracker();
    const harness = createHarness({ listeners: [tracker] });
    await harness.tracer.agentRun('agent', { principal: { userId: 'alice' } }, async (run) => {
      await run.step('slow', async (step) => {
        await sleep(40);
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 100, output: 10 });
      });
      run.step('fast', (step) => step.setModel('gpt-4o-mini', 'openai').setTokenUsage({ input: 100, output: 10 }));
    });
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    const bySpan = new Map(tokens.map((event) => [event.payload.scope, event.payload.latency_ms]));
    const slowSpan = harness.span('slow');
    const slowMs = slowSpan.duration[0] * 1000 + slowSpan.duration[1] / 1e6;
    expect(bySpan.get('agent/slow')).toBe(Math.round(slowMs * 1000) / 1000);
    expect(bySpan.get('agent/slow')).toBeGreaterThanOrEqual(35);
    expect(bySpan.get('agent/fast')).toBeLessThan(bySpan.get('agent/slow') as number);

    const summary = tracker.summary();
    const slow = bySpan.get('agent/slow') as number;
    const fast = bySpan.get('agent/fast') as number;
    expect(summary.latencyCalls).toBe(2);
    expect(summary.latencyTotalMs).toBeCloseTo(slow + fast, 3);
    expect(summary.latencyP95Ms).toBe(slow);
    expect(summary.latencyP50Ms).toBe(fast);
    expect(summary.byModel['gpt-4o']?.latencyP50Ms).toBe(slow);
    expect(summary.byModel['gpt-4o-mini']?.latencyCalls).toBe(1);
    expect(summary.byAgent.agent?.latencyCalls).toBe(2);
    // Attribution groups carry no latency of their own.
    expect(summary.byPrincipal['user:alice']?.latencyCalls).toBe(0);
    tracker.reset();
    expect(tracker.summary().latencyCalls).toBe(0);
  });

  it('keeps percentiles exact up to 4096 calls, memory bounded past that, the total exact', () => {
    const stats = new LatencyStats();
    for (let index = 1; index <= 100; index += 1) stats.add(index);
    expect(stats.summary()).toEqual({ latencyCalls: 100, latencyP50Ms: 50, latencyP95Ms: 95, latencyTotalMs: 5050 });
    stats.add(Number.NaN);
    stats.add(-1);
    expect(stats.summary().latencyCalls).toBe(100);
    const many = new LatencyStats();
    for (let index = 0; index < 50_000; index += 1) many.add(0.001 * (index % 1000));
    const summary = many.summary();
    expect(summary.latencyCalls).toBe(50_000);
    expect(summary.latencyTotalMs).toBe(24_975);
    expect(summary.latencyP50Ms).toBeGreaterThan(0.4);
    expect(summary.latencyP50Ms).toBeLessThan(0.6);
  });
});
