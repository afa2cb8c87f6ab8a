import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';
import type { BudgetGate, BudgetReservation, BudgetReserveRequest, BudgetSpend } from '../budget-gate.js';
import { resetNotices, setNoticeHandler, type CostspanNotice } from '../notice.js';
import { countUsageMissing, openCall } from './span-state.js';

let notices: CostspanNotice[] = [];
beforeEach(() => {
  notices = [];
  resetNotices();
  setNoticeHandler((given) => notices.push(given));
});
afterEach(() => setNoticeHandler(undefined));

const usage = { input: 10, output: 5 };

/** A budget gate that numbers its reservations r1, r2, ... and keeps what is recorded. */
function recordingBudget(): { budget: BudgetGate; spends: BudgetSpend[] } {
  const spends: BudgetSpend[] = [];
  let next = 0;
  const budget: BudgetGate = {
    reserve: (_request: BudgetReserveRequest): Promise<BudgetReservation> => Promise.resolve({ id: `r${(next += 1)}` }),
    record: (spend) => void spends.push(spend),
    release: () => undefined,
  };
  return { budget, spends };
}

describe('openCall: a call a step started and never finished', () => {
  it('counts as one call with usage missing beside the calls the step recorded, told once', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('left', (run) => {
      run.step('chat', (step) => {
        step.recordUsage({ model: 'gpt-4o', provider: 'openai', usage });
        openCall(step, { model: 'gpt-4o', provider: 'openai' });
        openCall(step, { model: 'gpt-4o', provider: 'openai' });
      });
      run.step('again', (step) => {
        step.setModel('gpt-4o', 'openai').setTokenUsage(usage);
        openCall(step, { model: undefined, provider: undefined });
      });
    });
    await harness.flush();
    expect(harness.processor.stats().usageMissingCalls).toBe(3);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload).toMatchObject({ call_count: 5, usage_missing_call_count: 3 });
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(2);
    expect(notices.map((given) => given.cause)).toEqual(['usage_missing:openai:stream_incomplete']);
    expect(notices[0]?.message).toContain('Read streams to their end inside the step');
  });

  it('counts nothing once closed (closing twice does nothing), and never twice with setModel or a marked span', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('closed', (run) => {
      run.step('read', (step) => {
        const close = openCall(step, { model: 'gpt-4o', provider: 'openai' });
        step.recordUsage({ model: 'gpt-4o', provider: 'openai', usage });
        close();
        close();
      });
      // The named model is the open call's: one call without usage, not `not_recorded` as well.
      run.step('named', (step) => {
        step.setModel('gpt-4o', 'openai');
        openCall(step, { model: 'gpt-4o', provider: 'openai' });
      });
      // Another call of the step already marked the span: that one and the open one, two in all.
      run.step('marked', (step) => {
        step.setModel('gpt-4o', 'openai');
        step.span.setAttributes({ 'llm.cost.usage.missing': true, 'llm.cost.usage.missing_reason': 'not_reported' });
        openCall(step, { model: 'gpt-4o', provider: 'openai' });
      });
    });
    await harness.flush();
    expect(harness.processor.stats().usageMissingCalls).toBe(3);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload).toMatchObject({ call_count: 4, usage_missing_call_count: 3 });
    expect(notices.map((given) => given.cause).sort()).toEqual([
      'usage_missing:openai:not_reported',
      'usage_missing:openai:stream_incomplete',
    ]);
  });

  it('settles a reservation per open call, unpriced, as any call without usage', async () => {
    const { budget, spends } = recordingBudget();
    const harness = createHarness();
    await harness.tracer.agentRun('budgeted', { budget }, (run) =>
      run.step('chat', async (step) => {
        await step.reserve({ estimatedUsd: 0.01 });
        await step.reserve({ estimatedUsd: 0.01 });
        step.recordUsage({ model: 'gpt-4o', provider: 'openai', usage });
        openCall(step, { model: 'gpt-4o', provider: 'openai' });
      }),
    );
    await harness.flush();
    expect(spends.map((spend) => [spend.reservation?.id, spend.priced])).toEqual([
      ['r1', undefined],
      ['r2', false],
    ]);
  });
});

describe('countUsageMissing: each call without usage of a step, once', () => {
  const missing = { 'llm.cost.usage.missing': true, 'llm.cost.usage.missing_reason': 'not_reported' };

  it('counts each call it is given, beside recorded and open calls, in place of the span attribute, told once per cause', async () => {
    const harness = createHarness();
    harness.tracer.agentRun('counted', (run) => {
      run.step('two', (step) => {
        step.recordUsage({ model: 'gpt-4o', provider: 'openai', usage });
        for (const reason of ['stream_incomplete', 'stream_incomplete', 'not_reported']) {
          countUsageMissing(step, { model: 'gpt-4o', provider: 'openai', reason });
          step.span.setAttributes({ ...missing, 'llm.cost.usage.missing_reason': reason });
        }
        openCall(step, { model: 'gpt-4o', provider: 'openai' });
      });
      // The attribute alone (another writer): one call, as before.
      run.step('attribute', (step) => {
        step.setModel('claude-sonnet-4-20250514', 'anthropic');
        step.span.setAttributes(missing);
      });
      // Counted without a model: the step's named model; a malformed reason is told as not_reported.
      run.step('named', (step) => {
        step.setModel('gpt-4o', 'openai');
        countUsageMissing(step, { model: undefined, provider: undefined, reason: 'Not A Reason' });
      });
    });
    await harness.flush();
    expect(harness.processor.stats().usageMissingCalls).toBe(6);
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload).toMatchObject({ call_count: 7, usage_missing_call_count: 6 });
    expect(harness.events.getEvents('llm.cost.token.recorded')).toHaveLength(1);
    expect(notices.map((given) => given.cause)).toEqual([
      'usage_missing:openai:stream_incomplete',
      'usage_missing:openai:not_reported',
      'usage_missing:anthropic:not_reported',
    ]);
  });

  it('settles a reservation per counted call, unpriced; counting after the step ended does nothing', async () => {
    const { budget, spends } = recordingBudget();
    const harness = createHarness();
    let ended: Parameters<typeof countUsageMissing>[0] | undefined;
    await harness.tracer.agentRun('budgeted', { budget }, (run) =>
      run.step('chat', async (step) => {
        await step.reserve({ estimatedUsd: 0.01 });
        await step.reserve({ estimatedUsd: 0.01 });
        countUsageMissing(step, { model: 'gpt-4o', provider: 'openai', reason: 'not_reported' });
        countUsageMissing(step, { model: 'gpt-4o', provider: 'openai', reason: 'not_reported' });
        ended = step;
      }),
    );
    if (ended !== undefined) countUsageMissing(ended, { model: 'gpt-4o', provider: 'openai', reason: 'not_reported' });
    await harness.flush();
    expect(spends.map((spend) => [spend.reservation?.id, spend.priced])).toEqual([
      ['r1', false],
      ['r2', false],
    ]);
    expect(harness.events.getEvents('llm.cost.session.recorded')[0]?.payload).toMatchObject({ usage_missing_call_count: 2 });
  });
});
