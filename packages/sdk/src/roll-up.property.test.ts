import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usdToPico } from '@costspan/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createHarness } from './__fixtures__/harness.js';
import type { CostEvent } from './events/cost-event.js';
import type { AgentRun } from './tracing/cost-tracer.js';

type TreeNode =
  | {
      kind: 'step';
      inputMicros: number;
      outputMicros: number;
      reasoningMicros: number;
      /** Per mille of the input cost saved by cache reads. */
      discountPerMille: number;
      uncached: number;
      cacheRead: number;
      cacheWrite: number;
      text: number;
      reasoning: number;
      yields: number;
    }
  | { kind: 'run'; children: TreeNode[]; yields: number; parallel: boolean };

const tree = fc.letrec<{ node: TreeNode; run: TreeNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      kind: fc.constant('step' as const),
      inputMicros: fc.integer({ min: 0, max: 5_000_000 }),
      outputMicros: fc.integer({ min: 0, max: 5_000_000 }),
      reasoningMicros: fc.integer({ min: 0, max: 5_000_000 }),
      discountPerMille: fc.integer({ min: 0, max: 1000 }),
      uncached: fc.integer({ min: 0, max: 5000 }),
      cacheRead: fc.integer({ min: 0, max: 5000 }),
      cacheWrite: fc.integer({ min: 0, max: 5000 }),
      text: fc.integer({ min: 0, max: 5000 }),
      reasoning: fc.integer({ min: 0, max: 5000 }),
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
        step.setTokenUsage({
          input: child.uncached + child.cacheRead + child.cacheWrite,
          output: child.text + child.reasoning,
          cacheRead: child.cacheRead,
          cacheWrite: child.cacheWrite,
          reasoning: child.reasoning,
        });
        step.setCost({
          inputUsd: child.inputMicros / 1e6,
          outputUsd: child.outputMicros / 1e6,
          reasoningUsd: child.reasoningMicros / 1e6,
          // Whole micro-dollars, at most the input cost.
          cachedDiscountUsd: Math.floor((child.inputMicros * child.discountPerMille) / 1000) / 1e6,
        });
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

/** Run-span fields that must roll up exactly; optional ones are absent when zero. */
const ROLLED_UP = [
  'total_usd',
  'input_usd',
  'output_usd',
  'reasoning_usd',
  'cached_discount_usd',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'reasoning_tokens',
  'call_count',
] as const;

function field(span: ReadableSpan, key: string): bigint {
  const value = span.attributes[key];
  if (value === undefined) return 0n;
  if (typeof value !== 'number') throw new Error(`${span.name} has a non-numeric ${key}`);
  return key.endsWith('_usd') ? usdToPico(value) : BigInt(value);
}

type TokenEvent = CostEvent<'llm.cost.token.recorded'>;

/** The run-span field of one token event, as the processor would add it. */
function eventField(event: TokenEvent, key: (typeof ROLLED_UP)[number]): bigint {
  const { cost, token_usage: usage } = event.payload;
  const usd = (amount: number | undefined): bigint => (amount === undefined ? 0n : usdToPico(amount));
  switch (key) {
    case 'total_usd':
      return usd(cost.total_cost_usd);
    case 'input_usd':
      return usd(cost.input_cost_usd);
    case 'output_usd':
      return usd(cost.output_cost_usd);
    case 'reasoning_usd':
      return usd(cost.reasoning_cost_usd);
    case 'cached_discount_usd':
      return usd(cost.cached_discount_usd);
    case 'input_tokens':
      return BigInt(usage.input_tokens);
    case 'output_tokens':
      return BigInt(usage.output_tokens);
    case 'total_tokens':
      return BigInt(usage.total_tokens);
    case 'cache_read_tokens':
      return BigInt(usage.cached_tokens ?? 0);
    case 'cache_creation_tokens':
      return BigInt(usage.cache_creation_tokens ?? 0);
    case 'reasoning_tokens':
      return BigInt(usage.reasoning_tokens ?? 0);
    case 'call_count':
      return 1n;
  }
}

describe('roll-up invariants (property)', () => {
  it('inclusive = own + child runs, root = sum of token events, nothing counted twice', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tree, { minLength: 1, maxLength: 3 }), async (roots) => {
        const harness = createHarness();
        // Several root runs at once: they must not bleed into each other.
        await Promise.all(
          roots.map((root, index) =>
            harness.tracer.agentRun(`root-${index}`, (run) => execute(run, root as Extract<TreeNode, { kind: 'run' }>)),
          ),
        );
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
        const tokens = harness.events.getEvents('llm.cost.token.recorded');
        for (const run of runs) {
          // Every bucket, money and tokens: inclusive = own + child runs' inclusive, and own = the
          // run's own token events. A sign error in any bucket of addTotals breaks one of these.
          const childRunsOf = runs.filter((candidate) => nearestRun(candidate) === run);
          const ownEvents = tokens.filter((event) => {
            const span = byId.get(event.payload.span_id ?? '');
            return span !== undefined && nearestRun(span) === run;
          });
          for (const key of ROLLED_UP) {
            const fromChildren = childRunsOf.reduce((sum, child) => sum + field(child, `llm.cost.inclusive.${key}`), 0n);
            expect(field(run, `llm.cost.inclusive.${key}`), key).toBe(field(run, `llm.cost.own.${key}`) + fromChildren);
            expect(field(run, `llm.cost.own.${key}`), key).toBe(ownEvents.reduce((sum, event) => sum + eventField(event, key), 0n));
          }
          expect(field(run, 'llm.cost.inclusive.total_usd')).toBe(
            field(run, 'llm.cost.inclusive.input_usd') +
              field(run, 'llm.cost.inclusive.output_usd') +
              field(run, 'llm.cost.inclusive.reasoning_usd') -
              field(run, 'llm.cost.inclusive.cached_discount_usd'),
          );
        }
        for (const run of runs) {
          const childRuns = runs.filter((candidate) => nearestRun(candidate) === run);
          const children = childRuns.reduce((sum, child) => sum + pico(child, 'llm.cost.inclusive.total_usd'), 0n);
          expect(pico(run, 'llm.cost.inclusive.total_usd')).toBe(pico(run, 'llm.cost.own.total_usd') + children);
          const ownSteps = spans.filter((span) => !isRun(span) && nearestRun(span) === run);
          expect(pico(run, 'llm.cost.own.total_usd')).toBe(
            ownSteps.reduce((sum, step) => sum + pico(step, 'gen_ai.usage.cost.amount'), 0n),
          );
        }

        const sessions = harness.events.getEvents('llm.cost.session.recorded');
        expect(sessions).toHaveLength(roots.length);
        for (const session of sessions) {
          const rootId = session.payload.agent_run_id;
          const rootSpan = runs.find((span) => span.attributes['gen_ai.agent.id'] === rootId) as ReadableSpan;
          const traceTokens = tokens.filter((event) => event.trace_id === rootSpan.spanContext().traceId);
          const sum = traceTokens.reduce((total, event) => total + usdToPico(event.payload.cost.total_cost_usd), 0n);
          expect(usdToPico(session.payload.total_cost.total_cost_usd)).toBe(sum);
          const sumOf = (read: (event: TokenEvent) => number | undefined): bigint =>
            traceTokens.reduce((total, event) => total + usdToPico(read(event) ?? 0), 0n);
          expect(usdToPico(session.payload.total_cost.reasoning_cost_usd ?? 0)).toBe(
            sumOf((event) => event.payload.cost.reasoning_cost_usd),
          );
          expect(usdToPico(session.payload.total_cost.cached_discount_usd ?? 0)).toBe(
            sumOf((event) => event.payload.cost.cached_discount_usd),
          );
          expect(session.payload.total_token_usage.cached_tokens ?? 0).toBe(
            traceTokens.reduce((total, event) => total + (event.payload.token_usage.cached_tokens ?? 0), 0),
          );
          expect(session.payload.total_token_usage.reasoning_tokens ?? 0).toBe(
            traceTokens.reduce((total, event) => total + (event.payload.token_usage.reasoning_tokens ?? 0), 0),
          );
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
    // Generous: 100 random trees of real spans, on a shared 2-core machine.
  }, 60_000);
});
