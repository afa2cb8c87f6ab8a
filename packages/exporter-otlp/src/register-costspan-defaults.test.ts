import { diag } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCostTracer, type CostTracer } from '@costspan/sdk';
import { OtlpReceiver } from './__fixtures__/otlp-receiver.js';
import { createCostspanOtlp, registerCostspan, type CostspanOtlp } from './register-costspan.js';

const receivers: OtlpReceiver[] = [];
const setups: CostspanOtlp[] = [];

afterEach(async () => {
  diag.disable();
  vi.unstubAllEnvs();
  await Promise.all(setups.splice(0).map((setup) => setup.shutdown({ timeoutMillis: 1000 })));
  await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
});

async function receiver(): Promise<OtlpReceiver> {
  const started = await new OtlpReceiver().start(0);
  receivers.push(started);
  return started;
}

function track<Setup extends CostspanOtlp>(setup: Setup): Setup {
  setups.push(setup);
  return setup;
}

/** The README's first snippet: usage only, no cost given. */
async function usageOnly(tracer: CostTracer): Promise<void> {
  await tracer.agentRun('planner', async (run) => {
    run.step('plan', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }));
  });
}

describe('priced by default', () => {
  it('registerCostspan({ endpoint }) prices gpt-4o 500/200 from the built-in table: exactly 0.00325 on the wire', async () => {
    const collector = await receiver();
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false }));
    await usageOnly(costspan.tracer);
    await costspan.shutdown();

    // The receiver decodes protobuf, the default encoding.
    expect(collector.requests.every((request) => request.contentType === 'application/x-protobuf')).toBe(true);
    const token = collector.logs.find((log) => log.eventName === 'llm.cost.token.recorded')!;
    // 500 × $2.50/M = 0.00125; 200 × $10/M = 0.002.
    expect(token.body).toMatchObject({ cost: { input_cost_usd: 0.00125, output_cost_usd: 0.002, total_cost_usd: 0.00325 } });
    const session = collector.logs.find((log) => log.eventName === 'llm.cost.session.recorded')!;
    expect(session.body).toMatchObject({ total_cost: { total_cost_usd: 0.00325 } });
    const plan = collector.spans.find((span) => span.name === 'plan')!;
    expect(plan.attributes['llm.cost.pricing.status']).toBe('priced');
  });

  it('createCostspanOtlp prices by default too, and an explicit undefined priceSource does not turn it off', async () => {
    const collector = await receiver();
    const costspan = track(createCostspanOtlp({ endpoint: collector.url, flushOnExit: false, costs: { priceSource: undefined } }));
    const provider = new BasicTracerProvider({ spanProcessors: costspan.spanProcessors });
    await usageOnly(createCostTracer({ tracerProvider: provider }));
    await costspan.shutdown();
    await provider.shutdown();

    const session = collector.logs.find((log) => log.eventName === 'llm.cost.session.recorded')!;
    expect(session.body).toMatchObject({ total_cost: { total_cost_usd: 0.00325 } });
  });

  it('priceSource: null opts out: the call is unpriced', async () => {
    const collector = await receiver();
    const costspan = track(registerCostspan({ endpoint: collector.url, flushOnExit: false, costs: { priceSource: null } }));
    await usageOnly(costspan.tracer);
    await costspan.shutdown();

    const plan = collector.spans.find((span) => span.name === 'plan')!;
    expect(plan.attributes['llm.cost.pricing.status']).toBe('unpriced');
    const token = collector.logs.find((log) => log.eventName === 'llm.cost.token.recorded')!;
    expect(token.body).toMatchObject({ cost: { total_cost_usd: 0 } });
  });
});
