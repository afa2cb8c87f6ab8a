import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createHarness } from './__fixtures__/harness.js';
import type { AgentRun } from './cost-tracer.js';

type TreeNode =
  | { kind: 'step'; inputMicros: number; outputMicros: number; yields: number }
  | { kind: 'run'; children: TreeNode[]; yields: number; parallel: boolean };

const tree = fc.letrec<{ node: TreeNode; run: TreeNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      kind: fc.constant('step' as const),
      inputMicros: fc.integer({ min: 0, max: 5_000_000 }),
      outputMicros: fc.integer({ min: 0, max: 5_000_000 }),
      yields: fc.integer({ min: 0, max: 4 }),
    }),
    tie('run'),
  ),
  run: fc.record({
    kind: fc.constant('run' as const),
    children: fc.array(tie('node'), { maxLength: 4 }),
    yields: fc.integer({ min: 0, max: 4 }),
    parallel: fc.boolean(),
  }),
})).run;

async function yieldTimes(count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) await Promise.resolve();
}

async function execute(run: AgentRun, node: Extract<TreeNode, { kind: 'run' }>): Promise<void> {
  await yieldTimes(node.yields);
  const runChild = async (child: TreeNode, index: number): Promise<void> => {
    if (child.kind === 'step') {
      await run.step(`step-${index}`, async (step) => {
        await yieldTimes(child.yields);
        step.setCost({ inputUsd: child.inputMicros / 1e6, outputUsd: child.outputMicros / 1e6 });
      });
    } else {
      await run.agentRun(`run-${index}`, (nested) => execute(nested, child));
    }
  };
  if (node.parallel) await Promise.all(node.children.map(runChild));
  else for (const [index, child] of node.children.entries()) await runChild(child, index);
}

function pico(span: ReadableSpan, key: string): bigint {
  const value = span.attributes[key];
  if (typeof value !== 'number') throw new Error(`${span.name} lacks ${key}`);
  return usdToPico(value);
}

describe('roll-up invariants (property)', () => {
  it('inclusive = own + child runs, root = sum of token events, nothing counted twice', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tree, { minLength: 1, maxLength: 3 }), async (roots) => {
        const harness = createHarness();
        // Several root runs at once: they must not bleed into each other.
        await Promise.all(roots.map((root, index) => harness.tracer.agentRun(`root-${index}`, (run) => execute(run, root as Extract<TreeNode, { kind: 'run' }>))));
        await harness.flush();

        const spans = harness.spans.getFinishedSpans();
        const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
        const isRun = (span: ReadableSpan): boolean => span.attributes['gen_ai.operation.name'] === 'invoke_agent';
        const nearestRun = (span: ReadableSpan): ReadableSpan | undefined => {
          let parentId = span.parentSpanContext?.spanId;
          while (parentId !== undefined) {
            const parent = byId.get(parentId);
            if (parent === undefined) return undefined;
            if (isRun(parent)) return parent;
            parentId = parent.parentSpanContext?.spanId;
          }
          return undefined;
        };

        const runs = spans.filter(isRun);
        for (const run of runs) {
          const childRuns = runs.filter((candidate) => nearestRun(candidate) === run);
          const children = childRuns.reduce((sum, child) => sum + pico(child, 'llm.cost.inclusive.total_usd'), 0n);
          expect(pico(run, 'llm.cost.inclusive.total_usd')).toBe(pico(run, 'llm.cost.own.total_usd') + children);
          const ownSteps = spans.filter((span) => !isRun(span) && nearestRun(span) === run);
          expect(pico(run, 'llm.cost.own.total_usd')).toBe(ownSteps.reduce((sum, step) => sum + pico(step, 'gen_ai.usage.cost.amount'), 0n));
        }

        const tokens = harness.events.getEvents('llm.cost.token.recorded');
        const sessions = harness.events.getEvents('llm.cost.session.recorded');
        expect(sessions).toHaveLength(roots.length);
        for (const session of sessions) {
          const rootId = session.payload.agent_run_id;
          const rootSpan = runs.find((span) => span.attributes['gen_ai.agent.id'] === rootId) as ReadableSpan;
          const traceTokens = tokens.filter((event) => event.trace_id === rootSpan.spanContext().traceId);
          const sum = traceTokens.reduce((total, event) => total + usdToPico(event.payload.cost.total_cost_usd), 0n);
          expect(usdToPico(session.payload.total_cost.total_cost_usd)).toBe(sum);
          expect(pico(rootSpan, 'llm.cost.inclusive.total_usd')).toBe(sum);
          expect(session.payload.call_count).toBe(traceTokens.length);
          // Own costs of all runs partition the root: summing them never double counts.
          const runsInTrace = runs.filter((span) => span.spanContext().traceId === rootSpan.spanContext().traceId);
          expect(runsInTrace.reduce((total, span) => total + pico(span, 'llm.cost.own.total_usd'), 0n)).toBe(sum);
        }
        expect(harness.processor.stats().openSpans).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
