import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDefaultPriceSource } from '@costspan/pricing';
import { createHarness } from '../__fixtures__/harness.js';
import { CallPricer } from './call-pricing.js';
import { resetNotices, setNoticeHandler, type CostspanNotice } from '../notice.js';
import type { RecordedCall } from '../tracing/span-state.js';

// Gateways answer with names of their own (`my-gateway/gpt-4o-xyz`); the model that was asked for
// is priced, so the call is priced by that name rather than booked at $0.

let notices: CostspanNotice[] = [];
beforeEach(() => {
  notices = [];
  resetNotices();
  setNoticeHandler((given) => notices.push(given));
});
afterEach(() => setNoticeHandler(undefined));

const NOW = Date.parse('2026-03-04T14:32:11Z');

function call(fields: Partial<RecordedCall>): RecordedCall {
  return {
    model: 'gpt-4o',
    provider: 'openai',
    responseModel: undefined,
    usage: { input: 1000, output: 500 },
    totalTokens: 1500,
    cost: undefined,
    costSource: undefined,
    costTotalOnly: false,
    ...fields,
  };
}

describe('pricing by the response model, else the requested one', () => {
  it("prices a gateway's unpriced response model by the priced requested model, and says so once", async () => {
    const harness = createHarness();
    harness.tracer.agentRun('gateway', (run) => {
      for (const name of ['a', 'b']) {
        run.step(name, (step) =>
          step.recordUsage({
            model: 'gpt-4o',
            provider: 'openai',
            responseModel: 'my-gateway/gpt-4o-xyz',
            usage: { input: 1000, output: 500 },
          }),
        );
      }
    });
    await harness.flush();
    const tokens = harness.events.getEvents('llm.cost.token.recorded');
    expect(tokens).toHaveLength(2);
    for (const token of tokens) {
      expect(token.payload.pricing_status).toBe('priced');
      expect(token.payload.cost.total_cost_usd).toBe(0.0075);
      expect(token.payload.pricing_tier).toMatchObject({ system: 'openai', model: 'gpt-4o' });
      expect(token.payload.model).toEqual({ name: 'gpt-4o', response_model: 'my-gateway/gpt-4o-xyz', system: 'openai' });
    }
    expect(notices.map((given) => given.cause)).toEqual(['priced_as_requested_model:my-gateway/gpt-4o-xyz']);
    expect(notices[0]?.message).toContain('"my-gateway/gpt-4o-xyz"');
    expect(notices[0]?.message).toContain('"gpt-4o"');
  });

  it('records which name priced the call', () => {
    const pricer = new CallPricer(createDefaultPriceSource());
    const fallback = pricer.price(call({ responseModel: 'my-gateway/gpt-4o-xyz' }), NOW);
    expect(fallback).toMatchObject({ status: 'priced', pricedModel: 'gpt-4o' });
    const direct = pricer.price(call({ responseModel: 'gpt-4o-2024-05-13' }), NOW);
    expect(direct).toMatchObject({ status: 'priced', pricedModel: 'gpt-4o-2024-05-13' });
    expect(pricer.price(call({}), NOW)).toMatchObject({ status: 'priced', pricedModel: 'gpt-4o' });
    expect(pricer.unpricedCalls).toBe(0);
  });

  it('a priced response model still wins over the requested one', () => {
    const pricer = new CallPricer(createDefaultPriceSource());
    // gpt-4o-2024-05-13 is $5/$15: 1000 x 5 + 500 x 15 = 12,500 micro-USD.
    const result = pricer.price(call({ responseModel: 'gpt-4o-2024-05-13' }), NOW);
    expect(result.tier?.model).toBe('gpt-4o-2024-05-13');
    expect(result.cost.input + result.cost.output).toBe(12_500_000_000n);
    expect(notices).toEqual([]);
  });

  it('when neither name is priced the call is unpriced, told once under the requested model', () => {
    const pricer = new CallPricer(createDefaultPriceSource());
    const result = pricer.price(call({ model: 'acme-llm', provider: 'acme', responseModel: 'acme-llm-v9' }), NOW);
    expect(result.status).toBe('unpriced');
    expect(result.pricedModel).toBeUndefined();
    expect(pricer.unpricedCalls).toBe(1);
    expect(notices.map((given) => given.cause)).toEqual(['unpriced_model:acme-llm']);
  });

  it("splits a reported total in the requested model's proportions when the response model is unpriced", () => {
    const pricer = new CallPricer(createDefaultPriceSource());
    // gpt-4o 1000/500 is 2.5 : 5 (input : output), so a reported 0.03 splits 0.01 / 0.02.
    const result = pricer.price(
      call({
        responseModel: 'my-gateway/gpt-4o-xyz',
        cost: { input: 30_000_000_000n, output: 0n, reasoning: 0n, cachedDiscount: 0n },
        costSource: 'provider',
        costTotalOnly: true,
      }),
      NOW,
    );
    expect(result.status).toBe('provider');
    expect(result.cost).toMatchObject({ input: 10_000_000_000n, output: 20_000_000_000n });
  });
});
