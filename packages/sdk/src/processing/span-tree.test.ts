import { describe, expect, it } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';
import { SpanNode, SpanTree } from './span-tree.js';

function node(id: string, parent: SpanNode | undefined, isRun = false): SpanNode {
  return new SpanNode(id, parent, isRun, id, parent?.runId ?? id, id, {}, {});
}

describe('eviction never drops an open run', () => {
  it('a long run with leaked children keeps its roll-up and its session event', async () => {
    const harness = createHarness({ maxOpenSpans: 100 });
    const leaky = harness.provider.getTracer('leaky');
    await harness.tracer.agentRun('long-run', async (run) => {
      run.step('before', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 }));
      for (let index = 0; index < 1000; index += 1) leaky.startSpan(`never-ends-${index}`, {}, run.context);
      run.agentRun('nested', (nested) => nested.step('after', (step) => step.setCost({ inputUsd: 0.002, outputUsd: 0 })));
    });
    await harness.flush();
    const sessions = harness.events.getEvents('llm.cost.session.recorded');
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.payload.total_cost.total_cost_usd).toBe(0.003);
    expect(sessions[0]?.payload.call_count).toBe(2);
    expect(harness.span('invoke_agent long-run').attributes['llm.cost.inclusive.total_usd']).toBe(0.003);
    const stats = harness.processor.stats();
    // root + 1000 leaked + nested + its step, against a cap of 100: one eviction per span past it.
    expect(stats.evictedSpans).toBe(1 + 1000 + 2 - 100);
    expect(stats.openSpans).toBeLessThanOrEqual(100);
  });

  it('forgets leaked leaves, oldest first, and never an ancestor of an open span', () => {
    const evicted: string[] = [];
    const tree = new SpanTree(4, (victim) => evicted.push(victim.spanId));
    const root = node('root', undefined, true);
    const step = node('step', root);
    const inner = node('inner', step);
    tree.add(root);
    tree.add(step);
    tree.add(inner);
    const leafA = node('leaf-a', root);
    tree.add(leafA);
    // Full: the next span forces an eviction. root and step are ancestors of open spans.
    tree.add(node('leaf-b', root));
    expect(evicted).toEqual(['inner']);
    // With inner gone, step is an open leaf itself, and the oldest one.
    tree.add(node('leaf-c', root));
    expect(evicted).toEqual(['inner', 'step']);
    tree.add(node('leaf-d', root));
    expect(evicted).toEqual(['inner', 'step', 'leaf-a']);
    expect(tree.get('root')).toBe(root);
    expect(tree.evicted).toBe(3);
  });

  it('forgetting a leaked leaf releases the ended chain above it', () => {
    const tree = new SpanTree(3, () => undefined);
    const root = node('root', undefined, true);
    const step = node('step', root);
    const leaked = node('leaked', step);
    tree.add(root);
    tree.add(step);
    tree.add(leaked);
    // The step ended with its child still open: kept, as an ancestor of an open span.
    step.ended = true;
    tree.release(step);
    expect(tree.get('step')).toBe(step);
    tree.add(node('other', root));
    // leaked was the oldest leaf (non-run); the ended step goes with it.
    expect(tree.get('leaked')).toBeUndefined();
    expect(tree.get('step')).toBeUndefined();
    expect(tree.get('root')).toBe(root);
    expect(root.openChildren).toBe(1);
    expect(tree.size).toBe(2);
  });

  it('keeps the oldest-first order through heavy churn (holes skipped, the order rebuilt)', () => {
    const evicted: string[] = [];
    const tree = new SpanTree(4, (victim) => evicted.push(victim.spanId));
    const root = node('root', undefined, true);
    tree.add(root);
    tree.add(node('leaked-1', root));
    // Thousands of spans come and go between the leaks: the order array rebuilds itself past 1,024 holes.
    for (let index = 0; index < 5000; index += 1) {
      const done = node(`done-${index}`, root);
      tree.add(done);
      done.ended = true;
      tree.release(done);
    }
    tree.add(node('leaked-2', root));
    tree.add(node('leaked-3', root));
    expect(tree.size).toBe(4);
    tree.add(node('leaked-4', root));
    tree.add(node('leaked-5', root));
    expect(evicted).toEqual(['leaked-1', 'leaked-2']);
    expect(tree.size).toBe(4);
    expect(root.openChildren).toBe(3);
    expect(tree.get('done-4999')).toBeUndefined();
  });
  it('forgets runs that are leaves only when no other leaf is left, never the newest span', () => {
    const evicted: string[] = [];
    const tree = new SpanTree(2, (victim) => evicted.push(victim.spanId));
    tree.add(node('run-a', undefined, true));
    tree.add(node('run-b', undefined, true));
    tree.add(node('run-c', undefined, true));
    expect(evicted).toEqual(['run-a']);
    expect(tree.get('run-c')).toBeDefined();
  });
});
