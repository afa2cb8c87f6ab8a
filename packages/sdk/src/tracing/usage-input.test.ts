import { beforeEach, describe, expect, it } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';
import { parseCostEvent, serializeEvent } from '../events/cost-event.js';
import { resetNotices, setNoticeHandler, type CostspanNotice } from '../notice.js';
import { MAX_CALL_PICO, validateCost, validateTokenUsage } from './usage-input.js';

const MAX = Number.MAX_SAFE_INTEGER;

describe('money stays exact or is refused', () => {
  it.each([
    [{ inputUsd: 1e308, outputUsd: 0 }, 'cost.inputUsd'],
    [{ inputUsd: 0, outputUsd: 9007.2 }, 'cost.outputUsd'],
    [{ inputUsd: 0, outputUsd: 0, reasoningUsd: 1e20 }, 'cost.reasoningUsd'],
    [{ totalUsd: 1e308 }, 'cost.totalUsd'],
    // Each part fits, the call does not.
    [{ inputUsd: 5000, outputUsd: 5000 }, 'cost.outputUsd'],
  ])('refuses %j with invalid_cost naming %s', (cost, field) => {
    expect(() => validateCost(cost)).toThrow(expect.objectContaining({ name: 'CostspanError', code: 'invalid_cost', field }));
  });

  it('says what the cap is: one amount, and the sum of input, output and reasoning', () => {
    expect(() => validateCost({ inputUsd: 9008, outputUsd: 0 })).toThrow(
      expect.objectContaining({
        field: 'cost.inputUsd',
        message: expect.stringContaining('at most 9007.199254740991 USD (2^53 - 1 pico-USD) for one call, the range carried exactly'),
      }),
    );
    // Reasoning counts towards the cap: $9,000 + $8 is past $9,007.199254740991.
    expect(() => validateCost({ inputUsd: 9000, outputUsd: 0, reasoningUsd: 8 })).toThrow(
      expect.objectContaining({
        code: 'invalid_cost',
        field: 'cost.outputUsd',
        message: expect.stringContaining('with inputUsd and reasoningUsd at most 9007.199254740991 USD (2^53 - 1 pico-USD) for one call'),
      }),
    );
    expect(validateCost({ inputUsd: 9000, outputUsd: 0, reasoningUsd: 7 }).cost.reasoning).toBe(7_000_000_000_000n);
  });

  it('takes the largest exact amount and carries it exactly to the wire', async () => {
    expect(validateCost({ inputUsd: '9007.199254740991' as unknown as number, outputUsd: 0 }).cost.input).toBe(MAX_CALL_PICO);
    expect(() => validateCost({ inputUsd: '9007.199254740992' as unknown as number, outputUsd: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_cost' }),
    );
    const harness = createHarness();
    harness.tracer.agentRun('big', (run) => run.step('s', (step) => step.setCost({ inputUsd: 9007.19925474099, outputUsd: 0 })));
    await harness.flush();
    const line = serializeEvent(harness.events.getEvents('llm.cost.session.recorded')[0]!);
    expect(line).toContain('"total_cost_usd":9007.19925474099');
    expect(parseCostEvent(line).payload.total_cost).toMatchObject({ total_cost_usd: 9007.19925474099 });
  });

  it('setCost of 1e308 throws a typed error at the API instead of writing null to the events', () => {
    const harness = createHarness();
    expect(() => harness.tracer.agentRun('r', (run) => run.step('s', (step) => step.setCost({ inputUsd: 1e308, outputUsd: 0 })))).toThrow(
      expect.objectContaining({ code: 'invalid_cost', field: 'cost.inputUsd' }),
    );
  });
});

describe('token counts stay exact or are refused', () => {
  let notices: CostspanNotice[] = [];
  beforeEach(() => {
    notices = [];
    resetNotices();
    setNoticeHandler((given) => notices.push(given));
    return () => setNoticeHandler(undefined);
  });

  it('refuses one call whose input + output is past 2^53', () => {
    expect(() => validateTokenUsage({ input: MAX, output: 1 })).toThrow(
      expect.objectContaining({
        code: 'invalid_tokens',
        field: 'usage.output',
        message: expect.stringContaining(`with input at most ${MAX} tokens in all`),
      }),
    );
    expect(validateTokenUsage({ input: MAX - 1, output: 1 }).total).toBe(MAX);
  });

  it('refuses, counts and tells once a call that would take a run past 2^53 tokens; what was booked stays exact', async () => {
    const harness = createHarness();
    const half = 2 ** 52;
    harness.tracer.agentRun('huge', (run) => {
      run.step('first', (step) => step.setTokenUsage({ input: half, output: half - 1 }).setCost({ inputUsd: 0.001, outputUsd: 0 }));
      run.step('second', (step) => step.setTokenUsage({ input: 1, output: 0 }).setCost({ inputUsd: 0.002, outputUsd: 0 }));
      run.step('third', (step) => step.setTokenUsage({ input: 1, output: 0 }).setCost({ inputUsd: 0.004, outputUsd: 0 }));
    });
    await harness.flush();
    const session = harness.events.getEvents('llm.cost.session.recorded')[0];
    expect(session?.payload.total_token_usage.total_tokens).toBe(MAX);
    expect(Number.isSafeInteger(session?.payload.total_token_usage.total_tokens)).toBe(true);
    expect(session?.payload.total_cost.total_cost_usd).toBe(0.001);
    expect(harness.processor.stats().tokenOverflowCalls).toBe(2);
    expect(notices.map((given) => given.cause)).toEqual(['token_overflow']);
  });
});
