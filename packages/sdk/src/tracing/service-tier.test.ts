import { afterEach, describe, expect, it } from 'vitest';
import { CostspanError } from '@costspan/core';
import { createDefaultPriceSource } from '@costspan/pricing';
import { createHarness } from '../__fixtures__/harness.js';
import { resetNotices, setNoticeHandler } from '../notice.js';

afterEach(() => {
  setNoticeHandler(undefined);
  resetNotices();
});

const usage = { input: 1_000_000, output: 100_000 };

describe('the service tier that served a call', () => {
  it('prices a flex call at half and writes service_tier on its token event only when reported', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('bot', (run) =>
      run.step('answer', (step) => {
        step.recordUsage({ model: 'gpt-4o', provider: 'openai', usage });
        step.recordUsage({ model: 'gpt-4o', provider: 'openai', usage, serviceTier: 'flex' });
        step.recordUsage({ model: 'gpt-4o', provider: 'openai', usage, serviceTier: 'default' });
      }),
    );
    await harness.flush();
    const [plain, flex, standard] = harness.events.getEvents('llm.cost.token.recorded');
    expect(plain?.payload).not.toHaveProperty('service_tier');
    expect(flex?.payload.service_tier).toBe('flex');
    expect(standard?.payload.service_tier).toBe('default');
    // gpt-4o: 1M in x $2.50 + 100k out x $10/M = $3.50; flex at half: $1.75.
    expect(plain?.payload.cost.total_cost_usd).toBe(3.5);
    expect(flex?.payload.cost.total_cost_usd).toBe(1.75);
    expect(flex?.payload.pricing_tier?.multiplier).toBe(0.5);
    expect(standard?.payload.cost.total_cost_usd).toBe(3.5);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.total_cost.total_cost_usd).toBe(8.75);
  });

  it('takes the tier of the step’s own call from setServiceTier, and the price source’s multipliers', async () => {
    const harness = createHarness({ priceSource: createDefaultPriceSource({ serviceTierMultipliers: { priority: 2 } }) });
    harness.tracer.agentRun('bot', (run) =>
      run.step('answer', (step) => {
        step.setModel('gpt-4o', 'openai').setTokenUsage(usage).setServiceTier('priority');
      }),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.service_tier).toBe('priority');
    expect(token?.payload.cost.total_cost_usd).toBe(7);
  });

  it('tells once per tier that a tier without a factor is priced at the standard rates', async () => {
    const told: string[] = [];
    setNoticeHandler((notice) => told.push(notice.cause));
    const harness = createHarness();
    harness.tracer.agentRun('bot', (run) =>
      run.step('answer', (step) => {
        step.recordUsage({ model: 'gpt-4o', provider: 'openai', usage, serviceTier: 'priority' });
        step.recordUsage({ model: 'gpt-4o', provider: 'openai', usage, serviceTier: 'priority' });
        step.recordUsage({ model: 'gpt-4o', provider: 'openai', usage, serviceTier: 'flex' });
      }),
    );
    await harness.flush();
    const [priority] = harness.events.getEvents('llm.cost.token.recorded');
    expect(priority?.payload.cost.total_cost_usd).toBe(3.5);
    expect(told.filter((cause) => cause.startsWith('service_tier_unpriced:'))).toEqual(['service_tier_unpriced:priority']);
  });

  it('refuses a tier that is not a short word, naming the field', () => {
    const harness = createHarness();
    harness.tracer.agentRun('bot', (run) =>
      run.step('answer', (step) => {
        for (const bad of ['', 'two words', 'x'.repeat(65), 42]) {
          expect(() => step.recordUsage({ model: 'gpt-4o', usage, serviceTier: bad as string })).toThrow(CostspanError);
          expect(() => step.setServiceTier(bad as string)).toThrow(/serviceTier/);
        }
      }),
    );
  });
});
