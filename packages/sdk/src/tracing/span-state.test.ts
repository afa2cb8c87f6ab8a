import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';
import type { BudgetGate, BudgetReservation, BudgetReserveRequest, BudgetSpend } from '../budget-gate.js';
import { resetNotices, setNoticeHandler, type CostspanNotice } from '../notice.js';
import { openCall } from './span-state.js';

let notices: CostspanNotice[] = [];
beforeEach(() => {
  notices = [];
  resetNotices();
  setNoticeHandler((given) => notices.push(given));
});
afterEach(() => setNoticeHandler(undefined));

const usage = { input: 10, output: 5 };

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
    const spends: BudgetSpend[] = [];
    let next = 0;
    const budget: BudgetGate = {
      reserve: (_request: BudgetReserveRequest): Promise<BudgetReservation> => Promise.resolve({ id: `r${(next += 1)}` }),
      record: (spend) => void spends.push(spend),
      release: () => undefined,
    };
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
