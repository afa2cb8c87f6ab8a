import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CostspanError, usdToPico } from '@costspan/core';
import { createHarness } from '../__fixtures__/harness.js';
import type { BudgetGate, BudgetReservation, BudgetReserveRequest, BudgetSpend } from '../budget-gate.js';
import { parseCostEvent, serializeEvent } from '../events/cost-event.js';
import { CostTracker } from '../events/cost-tracker.js';
import { resetNotices, setNoticeHandler, type CostspanNotice } from '../notice.js';

let notices: CostspanNotice[] = [];
beforeEach(() => {
  notices = [];
  resetNotices();
  setNoticeHandler((given) => notices.push(given));
});
afterEach(() => setNoticeHandler(undefined));

/** A gate that grants every reservation and keeps what it is told, as a budget store would. */
class RecordingGate implements BudgetGate {
  readonly spends: BudgetSpend[] = [];
  readonly released: BudgetReservation[] = [];
  private next = 0;
  reserve(_request: BudgetReserveRequest): Promise<BudgetReservation> {
    this.next += 1;
    return Promise.resolve({ id: `r${this.next}` });
  }
  record(spend: BudgetSpend): void {
    this.spends.push(spend);
  }
  release(reservation: BudgetReservation): void {
    this.released.push(reservation);
  }
}

describe('priced by default', () => {
  it('prices gpt-4o 1000/500 at exactly 0.0075 from the built-in table when no priceSource is given', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('default', (run) =>
      run.step('chat', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 500 })),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.pricing_status).toBe('priced');
    expect(token?.payload.cost.total_cost_usd).toBe(0.0075);
    expect(token?.payload.cost.input_cost_usd).toBe(0.0025);
    expect(token?.payload.cost.output_cost_usd).toBe(0.005);
    expect(harness.span('invoke_agent default').attributes['llm.cost.inclusive.total_usd']).toBe(0.0075);
    expect(notices).toEqual([]);
  });

  it("keeps a caller's explicit split on a model the table knows: never re-split", async () => {
    const harness = createHarness();
    harness.tracer.agentRun('split', (run) =>
      run.step('chat', (step) =>
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 1000 }).setCost({ inputUsd: 1, outputUsd: 0 }),
      ),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(token?.payload.cost).toEqual({ input_cost_usd: 1, output_cost_usd: 0, total_cost_usd: 1 });
    expect(token?.payload.pricing_status).toBe('caller');
    const runSpan = harness.span('invoke_agent split');
    expect(runSpan.attributes['llm.cost.own.input_usd']).toBe(1);
    expect(runSpan.attributes['llm.cost.own.output_usd']).toBe(0);
  });

  it('priceSource: null opts out: the call is unpriced and told once, naming the fix', async () => {
    const harness = createHarness({ priceSource: null });
    harness.tracer.agentRun('off', (run) => {
      run.step('a', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 500 }));
      run.step('b', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 500 }));
    });
    await harness.flush();
    expect(harness.events.getEvents('llm.cost.token.recorded').map((event) => event.payload.pricing_status)).toEqual([
      'unpriced',
      'unpriced',
    ]);
    expect(notices.map((given) => given.cause)).toEqual(['unpriced_model:gpt-4o']);
    expect(notices[0]?.message).toContain('priceSource: null');
  });
});

describe('loud once per cause', () => {
  it('the first unpriced model is told once, with how to fix it; a second model is its own cause', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('mystery', (run) => {
      for (let index = 0; index < 3; index += 1)
        run.step('chat', (step) => step.setModel('acme-llm', 'acme').setTokenUsage({ input: 10, output: 10 }));
      run.step('chat', (step) => step.setModel('other-llm', 'acme').setTokenUsage({ input: 10, output: 10 }));
    });
    await harness.flush();
    expect(notices.map((given) => given.cause)).toEqual(['unpriced_model:acme-llm', 'unpriced_model:other-llm']);
    expect(notices[0]?.message).toMatch(/customPrices.*priceSource/);
    expect(notices[0]?.message).toContain('setCost');
  });

  it('calls without usage are told once per provider and reason, with the stream fix', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('streams', (run) => {
      for (let index = 0; index < 3; index += 1) {
        run.step('stream', (step) => {
          step.setModel('gpt-4o', 'openai');
          step.span.setAttributes({ 'llm.cost.usage.missing': true, 'llm.cost.usage.missing_reason': 'stream_incomplete' });
        });
      }
    });
    await harness.flush();
    expect(notices.map((given) => given.cause)).toEqual(['usage_missing:openai:stream_incomplete']);
    expect(notices[0]?.message).toContain('include_usage');
    expect(harness.processor.stats().usageMissingCalls).toBe(3);
  });
});

describe('budgets book what they cannot price', () => {
  it('an unpriced call settles its reservation with priced: false and its model, not as a $0 price', async () => {
    const gate = new RecordingGate();
    const harness = createHarness();
    await harness.tracer.agentRun('budgeted', { budget: gate }, (run) =>
      run.step('call', async (step) => {
        await step.reserve({ estimatedUsd: 0.004 });
        step.setModel('acme-llm', 'acme').setTokenUsage({ input: 100, output: 10 });
      }),
    );
    await harness.flush();
    expect(gate.spends).toHaveLength(1);
    expect(gate.spends[0]).toMatchObject({ priced: false, model: 'acme-llm', usd: 0n, tokens: 110, reservation: { id: 'r1' } });
    expect(gate.released).toEqual([]);
  });

  it('a priced call is recorded as before, without priced or model', async () => {
    const gate = new RecordingGate();
    const harness = createHarness();
    await harness.tracer.agentRun('budgeted', { budget: gate }, (run) =>
      run.step('call', async (step) => {
        await step.reserve({ estimatedUsd: 0.01 });
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 500 });
      }),
    );
    await harness.flush();
    expect(gate.spends[0]?.usd).toBe(usdToPico(0.0075));
    expect(gate.spends[0]).not.toHaveProperty('priced');
    expect(gate.spends[0]).not.toHaveProperty('model');
  });

  it('a step whose call reported no usage settles its reservation with priced: false instead of releasing it', async () => {
    const gate = new RecordingGate();
    const harness = createHarness();
    await harness.tracer.agentRun('budgeted', { budget: gate }, (run) =>
      run.step('stream', async (step) => {
        await step.reserve({ estimatedUsd: 0.004 });
        await step.reserve({ estimatedUsd: 0.004 });
        step.setModel('gpt-4o', 'openai');
        step.span.setAttribute('llm.cost.usage.missing', true);
      }),
    );
    await harness.flush();
    expect(gate.spends).toEqual([
      expect.objectContaining({ priced: false, model: 'gpt-4o', usd: 0n, tokens: 0, reservation: { id: 'r1' } }),
    ]);
    // The second reservation had no call: it goes back.
    expect(gate.released).toEqual([{ id: 'r2' }]);
  });
});

describe('nothing looks complete when it is not', () => {
  it('counts calls without usage and unpriced calls in the session event, the run span and the tracker', async () => {
    const tracker = new CostTracker();
    const harness = createHarness({ listeners: [tracker] });
    harness.tracer.agentRun('partial', (run) => {
      run.step('priced', (step) => step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 1000, output: 500 }));
      run.step('unknown', (step) => step.setModel('zeta-llm', 'acme').setTokenUsage({ input: 10, output: 10 }));
      run.step('unknown-2', (step) => step.setModel('alpha-llm', 'acme').setTokenUsage({ input: 10, output: 10 }));
      run.step('no-usage', (step) => step.span.setAttribute('llm.cost.usage.missing', true));
    });
    await harness.flush();
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.call_count).toBe(4);
    expect(session?.payload.unpriced_call_count).toBe(2);
    expect(session?.payload.usage_missing_call_count).toBe(1);
    expect(session?.payload.unpriced_models).toEqual(['alpha-llm', 'zeta-llm']);
    expect(session?.payload.total_cost.total_cost_usd).toBe(0.0075);
    const line = serializeEvent(session!);
    expect(line).toContain('"unpriced_call_count":2,"unpriced_models":["alpha-llm","zeta-llm"],"usage_missing_call_count":1}');
    expect(parseCostEvent(line).payload).toEqual(session?.payload);
    const runSpan = harness.span('invoke_agent partial');
    expect(runSpan.attributes['llm.cost.own.usage_missing_call_count']).toBe(1);
    expect(runSpan.attributes['llm.cost.inclusive.usage_missing_call_count']).toBe(1);
    expect(runSpan.attributes['llm.cost.inclusive.call_count']).toBe(4);
    const summary = tracker.summary();
    expect(summary.calls).toBe(4);
    expect(summary.unpricedCalls).toBe(2);
    expect(summary.usageMissingCalls).toBe(1);
  });

  it('a complete run writes none of the new fields', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('complete', (run) => run.step('s', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
    await harness.flush();
    const payload = harness.events.getEvents('llm.cost.session.recorded')[0]?.payload;
    expect(Object.keys(payload ?? {})).toEqual([
      'agent_name',
      'agent_run_id',
      'call_count',
      'models_used',
      'session_duration_ms',
      'total_cost',
      'total_token_usage',
    ]);
  });

  it('a refused reservation shows in the session event with the limit that refused it', async () => {
    const refusing: BudgetGate = {
      reserve: () =>
        Promise.reject(
          Object.assign(new CostspanError({ code: 'budget_exceeded', message: 'daily limit' }), {
            limitType: 'user_daily',
            scope: 'user:ann',
            window: '2026-03-04',
            unit: 'usd',
            limitExact: usdToPico(0.01),
            currentExact: usdToPico(0.008),
            attemptedExact: usdToPico(0.004),
          }),
        ),
      record: () => undefined,
      release: () => undefined,
    };
    const harness = createHarness();
    await harness.tracer
      .agentRun('refused', { budget: refusing, principal: { userId: 'ann' } }, (run) =>
        run.step('call', (step) => step.reserve({ estimatedUsd: 0.004 })),
      )
      .catch(() => undefined);
    // A span another tool marked by hand reads the same way.
    harness.tracer.agentRun('by-hand', (run) =>
      run.step('tokens', (step) => {
        step.span.setAttributes({
          'llm.cost.budget.refused': true,
          'llm.cost.budget.limit_type': 'per_request',
          'llm.cost.budget.scope': 'request',
          'llm.cost.budget.window': 'request',
          'llm.cost.budget.unit': 'tokens',
          'llm.cost.budget.limit': '1000',
          'llm.cost.budget.current': '0',
          'llm.cost.budget.attempted': '4096',
        });
      }),
    );
    await harness.flush();
    const sessions = harness.events.getEvents('llm.cost.session.recorded');
    const runId = (name: string): string => String(harness.span(`invoke_agent ${name}`).attributes['gen_ai.agent.id']);
    expect(sessions[0]?.payload.budget_refusals).toEqual([
      {
        agent_run_id: runId('refused'),
        attempted: 0.004,
        current: 0.008,
        limit: 0.01,
        limit_type: 'user_daily',
        scope: 'user:ann',
        step: 'call',
        unit: 'usd',
        window: '2026-03-04',
      },
    ]);
    expect(sessions[1]?.payload.budget_refusals).toEqual([
      {
        agent_run_id: runId('by-hand'),
        attempted: 4096,
        current: 0,
        limit: 1000,
        limit_type: 'per_request',
        scope: 'request',
        step: 'tokens',
        unit: 'tokens',
        window: 'request',
      },
    ]);
    for (const session of sessions) expect(parseCostEvent(serializeEvent(session)).payload).toEqual(session.payload);
  });
});

describe('a step that names its model and records no usage', () => {
  it('counts the call as usage missing (not_recorded), in stats, the session event and one notice', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('forgot', (run) => {
      run.step('chat', (step) => void step.setModel('gpt-4o', 'openai'));
      run.step('chat again', (step) => void step.setModel('gpt-4o', 'openai'));
    });
    await harness.flush();
    expect(harness.processor.stats().usageMissingCalls).toBe(2);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.usage_missing_call_count).toBe(2);
    // Counted as calls, without tokens or cost, as every call without usage is.
    expect(session?.payload.call_count).toBe(2);
    expect(harness.events.getEvents('llm.cost.token.recorded')).toEqual([]);
    expect(notices.map((given) => given.cause)).toEqual(['usage_missing:openai:not_recorded']);
  });

  it('counts nothing missing when the usage is recorded, below it, or the step failed', async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('fine', async (run) => {
      run.step('recorded', (step) => void step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 10, output: 5 }));
      await run.step('outer', async (outer) => {
        outer.setModel('gpt-4o', 'openai');
        run.agentRun('helper', (helper) =>
          helper.step('inner', (inner) => void inner.setModel('gpt-4o', 'openai').setTokenUsage({ input: 10, output: 5 })),
        );
      });
      await expect(
        run.step('failed', async (step) => {
          step.setModel('gpt-4o', 'openai');
          await Promise.resolve();
          throw new Error('provider down');
        }),
      ).rejects.toThrow('provider down');
    });
    await harness.flush();
    expect(harness.processor.stats().usageMissingCalls).toBe(0);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.usage_missing_call_count).toBeUndefined();
    expect(session?.payload.call_count).toBe(2);
    expect(notices).toEqual([]);
  });
});
