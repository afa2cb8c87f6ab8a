import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { PricingTier } from '@costspan/pricing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReferenceCostEventWriter } from '../__fixtures__/reference-cost-event-writer.js';
import type { Principal } from '../budget-gate.js';
import type { PricedCall } from '../processing/call-pricing.js';
import { canonicalJson, type CostEvent } from './cost-event.js';
import { CostEventWriter } from './cost-event-writer.js';
import { emptyTotals, type CostTotals } from '../processing/cost-totals.js';
import type { EventPipeline } from '../export/event-pipeline.js';
import { SpanNode } from '../processing/span-tree.js';

// Strings with what JSON must escape or keep: quotes, backslashes, controls, line separators, astral characters.
const text = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '"', '\\', '\n', '\u0001', '\u2028', 'é', '😀', '/', ' '), maxLength: 8 });
const name = text.filter((value) => value.length > 0);
const hexId = (length: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: length, maxLength: length });
const pico = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 10n ** 16n }), fc.bigInt({ min: 2n ** 53n, max: 2n ** 70n }));
const tokens = fc.oneof(fc.constant(0), fc.nat({ max: 2_000_000 }));

const principal: fc.Arbitrary<Principal> = fc.record(
  {
    userId: name,
    teamId: name,
    orgId: name,
    tags: fc.dictionary(name, text, { maxKeys: 3 }).map((tags) => {
      const sorted = Object.create(null) as Record<string, string>;
      for (const key of Object.keys(tags).sort()) sorted[key] = tags[key] as string;
      return sorted;
    }),
  },
  { requiredKeys: [] },
);

interface SpanInput {
  spanId: string;
  traceId: string;
  parentSpanId: string | undefined;
  sessionId: string | undefined;
  error: boolean;
  endTime: [number, number];
  duration: [number, number];
}

const spanInput: fc.Arbitrary<SpanInput> = fc.record({
  spanId: hexId(16),
  traceId: hexId(32),
  parentSpanId: fc.option(hexId(16), { nil: undefined }),
  sessionId: fc.option(name, { nil: undefined }),
  error: fc.boolean(),
  endTime: fc.tuple(fc.integer({ min: 0, max: 4_000_000_000 }), fc.integer({ min: 0, max: 999_999_999 })),
  duration: fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 999_999_999 })),
});

function span(input: SpanInput): ReadableSpan {
  return {
    spanContext: () => ({ spanId: input.spanId, traceId: input.traceId, traceFlags: 1 }),
    parentSpanContext: input.parentSpanId === undefined ? undefined : { spanId: input.parentSpanId, traceId: input.traceId, traceFlags: 1 },
    attributes: input.sessionId === undefined ? {} : { 'session.id': input.sessionId },
    status: { code: input.error ? SpanStatusCode.ERROR : SpanStatusCode.OK },
    endTime: input.endTime,
    duration: input.duration,
    name: 'span',
    resource: { attributes: {} },
  } as unknown as ReadableSpan;
}

const tier: fc.Arbitrary<PricingTier | undefined> = fc.option(
  fc.record({
    system: name,
    model: name,
    input_per_million_usd: fc.double({ min: 0, max: 100, noNaN: true }),
    output_per_million_usd: fc.double({ min: 0, max: 100, noNaN: true }),
    effective_date: fc.constant('2026-01-01'),
  }),
  { nil: undefined },
);

const pricedCall: fc.Arbitrary<PricedCall> = fc
  .record({
    model: name,
    provider: fc.option(name, { nil: undefined }),
    responseModel: fc.option(name, { nil: undefined }),
    input: tokens,
    output: tokens,
    cacheRead: fc.option(tokens, { nil: undefined }),
    cacheWrite: fc.option(tokens, { nil: undefined }),
    reasoning: fc.option(tokens, { nil: undefined }),
    costs: fc.tuple(pico, pico, pico, pico),
    status: fc.constantFrom<PricedCall['status']>('priced', 'unpriced', 'caller', 'provider'),
    tier,
    pricingDate: fc.option(fc.constant('2026-02-03'), { nil: undefined }),
    serviceTier: fc.option(fc.constantFrom('flex', 'priority', 'default', 'scale', 'tier"with\\escapes'), { nil: undefined }),
  })
  .map((input) => ({
    call: {
      model: input.model,
      provider: input.provider,
      responseModel: input.responseModel,
      usage: {
        input: input.input,
        output: input.output,
        ...(input.cacheRead === undefined ? {} : { cacheRead: input.cacheRead }),
        ...(input.cacheWrite === undefined ? {} : { cacheWrite: input.cacheWrite }),
        ...(input.reasoning === undefined ? {} : { reasoning: input.reasoning }),
      },
      totalTokens: input.input + input.output,
      cost: undefined,
      costSource: undefined,
      ...(input.serviceTier === undefined ? {} : { serviceTier: input.serviceTier }),
    },
    cost: { input: input.costs[0], output: input.costs[1], reasoning: input.costs[2], cachedDiscount: input.costs[3] },
    status: input.status,
    tier: input.tier,
    pricingDate: input.pricingDate,
  }));

const totals: fc.Arbitrary<CostTotals> = fc
  .tuple(fc.tuple(pico, pico, pico, pico), fc.array(tokens, { minLength: 9, maxLength: 9 }))
  .map(([money, counts]) => ({
    ...emptyTotals(),
    input: money[0],
    output: money[1],
    reasoning: money[2],
    cachedDiscount: money[3],
    inputTokens: counts[0] as number,
    outputTokens: counts[1] as number,
    totalTokens: counts[2] as number,
    cacheReadTokens: counts[3] as number,
    cacheWriteTokens: counts[4] as number,
    reasoningTokens: counts[5] as number,
    callCount: counts[6] as number,
    unpricedCallCount: (counts[7] as number) % 3,
    usageMissingCallCount: (counts[8] as number) % 2,
  }));

/** A root run, optionally a nested run in it, and a step in the innermost run. */
const tree = fc.record({
  rootName: name,
  rootId: name,
  nestedName: fc.option(name, { nil: undefined }),
  stepName: name,
  principal,
  rootSessionId: fc.option(name, { nil: undefined }),
  nestedSessionId: fc.option(name, { nil: undefined }),
});

interface TreeShape {
  rootName: string;
  rootId: string;
  nestedName: string | undefined;
  stepName: string;
  principal: Principal;
  rootSessionId: string | undefined;
  nestedSessionId: string | undefined;
}

function nodes(shape: TreeShape): {
  root: SpanNode;
  step: SpanNode;
} {
  const root = new SpanNode('a'.repeat(16), undefined, true, shape.rootName, shape.rootId, shape.rootName, shape.principal, {});
  root.sessionId = shape.rootSessionId;
  const run =
    shape.nestedName === undefined
      ? root
      : new SpanNode(
          'b'.repeat(16),
          root,
          true,
          shape.nestedName,
          `${shape.rootId}-nested`,
          `${root.scope}/${shape.nestedName}`,
          shape.principal,
          {},
        );
  if (run !== root) run.sessionId = shape.nestedSessionId ?? run.sessionId;
  const step = new SpanNode('c'.repeat(16), run, false, shape.stepName, run.runId, `${run.scope}/${shape.stepName}`, shape.principal, {});
  return { root, step };
}

/** A late span's one call. */
const LATE_CALL: PricedCall = {
  call: {
    model: 'm',
    provider: undefined,
    responseModel: undefined,
    usage: { input: 1, output: 1 },
    totalTokens: 2,
    cost: undefined,
    costSource: undefined,
  },
  cost: { input: 1n, output: 1n, reasoning: 0n, cachedDiscount: 0n },
  status: 'priced',
  tier: undefined,
  pricingDate: undefined,
};

const ID = /"event_id":"[0-9A-HJKMNP-TV-Z]{26}"/g;
const withoutIds = (line: string): string => line.replace(ID, '"event_id":"*"');

function referenceLines(events: readonly CostEvent[]): string[] {
  return events.map((event) => withoutIds(canonicalJson(event)));
}

function writers(
  source: string | undefined,
  encodesOnArrival: boolean,
): { lines: string[]; writer: CostEventWriter; reference: ReferenceCostEventWriter } {
  const lines: string[] = [];
  // A pipeline that copies lines out on arrival gets them concatenated, any other one joined flat: both must be the same text.
  const pipeline = { emit: (line: string) => lines.push(line), encodesOnArrival } as unknown as EventPipeline;
  return { lines, writer: new CostEventWriter(pipeline, [], undefined, source), reference: new ReferenceCostEventWriter(source) };
}

describe.each([{ encodesOnArrival: false }, { encodesOnArrival: true }])(
  'the event encoder writes what canonical JSON of the event object says (lines copied out on arrival: $encodesOnArrival)',
  ({ encodesOnArrival }) => {
    it('token events, over randomized calls, spans, principals and trees', () => {
      fc.assert(
        fc.property(
          tree,
          spanInput,
          pricedCall,
          fc.boolean(),
          fc.option(name, { nil: undefined }),
          (shape, input, priced, inTree, source) => {
            const { lines, writer, reference } = writers(
              source === undefined ? undefined : `${source.replace(/\W/g, '') || 'app'}@1.0.0`,
              encodesOnArrival,
            );
            const { step } = nodes(shape);
            writer.tokenEvent(span(input), inTree ? step : undefined, priced);
            reference.tokenEvent(span(input), inTree ? step : undefined, priced);
            expect(lines.map(withoutIds)).toEqual(referenceLines(reference.events));
            // And each line is its own canonical form.
            for (const line of lines) expect(canonicalJson(JSON.parse(line))).toBe(line);
          },
        ),
        { numRuns: 400 },
      );
    });

    it('session and attributed events (late ones too), over randomized totals, models, refusals and targets', () => {
      fc.assert(
        fc.property(
          tree,
          spanInput,
          totals,
          fc.array(name, { maxLength: 3 }),
          fc.array(fc.tuple(name, totals, fc.array(fc.constant('01J00000000000000000000000'), { maxLength: 3 })), { maxLength: 4 }),
          fc.boolean(),
          (shape, input, rootTotals, models, attribution, refused) => {
            const { lines, writer, reference } = writers('bench@1.0.0', encodesOnArrival);
            const { root } = nodes(shape);
            Object.assign(root.inclusive, rootTotals);
            const record = root.rootRecord!;
            for (const model of models) record.models.add(model);
            for (const model of models.slice(1)) record.unpricedModels.add(model);
            if (refused) {
              record.budgetRefusals.push({
                agent_run_id: root.runId,
                step: 'answer',
                limit_type: 'user_daily',
                scope: 'user:alice',
                window: '2026-03-04',
                unit: 'usd',
                limit: 1,
                current: 0.75,
                attempted: 0.5,
              });
            }
            for (const [target, cost, eventIds] of attribution) record.attribution.set(target, { totals: cost, eventIds });
            writer.sessionEvents(span(input), root);
            reference.sessionEvents(span(input), root);
            // A late span's attributed event, in the envelope of its token event.
            const [late] = attribution;
            if (late !== undefined) {
              const written = writer.tokenEvent(span(input), root, LATE_CALL);
              writer.attributedEvent(written.envelope, root, late[0], { totals: late[1], eventIds: [written.eventId] }, true);
              const basis = reference.tokenEvent(span(input), root, LATE_CALL);
              reference.attributedEvent(basis, root, late[0], { totals: late[1], eventIds: [written.eventId] }, true);
            }
            expect(lines.map(withoutIds)).toEqual(referenceLines(reference.events));
            for (const line of lines) expect(canonicalJson(JSON.parse(line))).toBe(line);
          },
        ),
        { numRuns: 300 },
      );
    });
  },
);
