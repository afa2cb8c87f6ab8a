import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { CostspanError, usdToPico } from '@costspan/core';
import { ATTR } from '../attributes.js';
import { createHarness } from '../__fixtures__/harness.js';
import type { BudgetGate, BudgetReservation, BudgetReserveRequest, BudgetSpend } from '../budget-gate.js';

class RecordingGate implements BudgetGate {
  readonly reserved: BudgetReserveRequest[] = [];
  readonly recorded: BudgetSpend[] = [];
  readonly released: BudgetReservation[] = [];
  private next = 0;
  constructor(private readonly limitPico = 10n ** 18n) {}

  reserve(request: BudgetReserveRequest): Promise<BudgetReservation> {
    // Refuses once the limit is reached (spanforge's check_before); the real BudgetGuard lives in @costspan/budget.
    const spent = this.recorded.reduce((sum, spend) => sum + spend.usd, 0n);
    if (spent >= this.limitPico) {
      return Promise.reject(new CostspanError({ code: 'budget_exceeded', message: 'over budget' }));
    }
    this.reserved.push(request);
    this.next += 1;
    return Promise.resolve({ id: `r${this.next}` });
  }
  record(spend: BudgetSpend): void {
    this.recorded.push(spend);
  }
  release(reservation: BudgetReservation): void {
    this.released.push(reservation);
  }
}

describe('budget integration', () => {
  it('reserves before a call and settles the reservation with the priced cost', async () => {
    const harness = createHarness();
    const gate = new RecordingGate();
    await harness.tracer.agentRun('guarded', { principal: { userId: 'alice' }, budget: gate }, async (run) => {
      await run.step('call', async (step) => {
        await step.reserve({ estimatedUsd: 0.01 });
        step.setModel('gpt-4o', 'openai').setTokenUsage({ input: 500, output: 200 }).setCost({ inputUsd: 0.00125, outputUsd: 0.002 });
      });
      run.agentRun('nested', (nested) => nested.step('unreserved', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })));
    });
    expect(gate.reserved).toEqual([
      expect.objectContaining({ principal: { userId: 'alice' }, agentName: 'guarded', step: 'call', estimatedUsd: usdToPico(0.01) }),
    ]);
    // No model known at reserve time: none is passed (the guard's model limits then do not apply to the estimate).
    expect(gate.reserved[0]).not.toHaveProperty('model');
    expect(gate.recorded).toHaveLength(2);
    expect(gate.recorded[0]).toMatchObject({ usd: usdToPico(0.00325), tokens: 700, reservation: { id: 'r1' } });
    // Nested runs inherit the budget and the principal; spends without a reservation are booked directly.
    expect(gate.recorded[1]).toMatchObject({ usd: usdToPico(0.001), agentName: 'nested', principal: { userId: 'alice' } });
    expect(gate.recorded[1]?.reservation).toBeUndefined();
    expect(gate.recorded[1]?.rootRunId).toBe(gate.recorded[0]?.runId);
  });

  it("settles a step's reservation with a call another instrumentation reported", async () => {
    const harness = createHarness();
    const gate = new RecordingGate();
    const sdkTracer = harness.provider.getTracer('@anthropic-ai/sdk');
    await harness.tracer.agentRun('auto', { budget: gate }, (run) =>
      run.step('call', async (step) => {
        await step.reserve({ estimatedUsd: 0.01 });
        sdkTracer.startActiveSpan(
          'anthropic.messages.create',
          {
            attributes: {
              'gen_ai.provider.name': 'anthropic',
              'gen_ai.request.model': 'claude',
              'gen_ai.usage.input_tokens': 10,
              'gen_ai.usage.output_tokens': 5,
              'gen_ai.usage.cost.amount': 0.002,
              'gen_ai.usage.cost.source': 'provider',
            },
          },
          (span) => span.end(),
        );
      }),
    );
    expect(gate.recorded).toEqual([expect.objectContaining({ usd: usdToPico(0.002), tokens: 15, reservation: { id: 'r1' } })]);
    expect(gate.released).toHaveLength(0);
  });

  it('releases a reservation whose call never happened', async () => {
    const harness = createHarness();
    const gate = new RecordingGate();
    await expect(
      harness.tracer.agentRun('failing', { budget: gate }, (run) =>
        run.step('call', async (step) => {
          await step.reserve({ estimatedUsd: 0.01 });
          throw new Error('provider down');
        }),
      ),
    ).rejects.toThrow('provider down');
    expect(gate.released).toEqual([{ id: 'r1' }]);
    expect(gate.recorded).toHaveLength(0);
  });

  it('stops the call before it is made when the budget refuses', async () => {
    const harness = createHarness();
    const gate = new RecordingGate(usdToPico(0.005));
    let calls = 0;
    const answer = await harness.tracer.agentRun('limited', { budget: gate }, async (run) => {
      for (let index = 0; index < 3; index += 1) {
        try {
          await run.step(`call-${index}`, async (step) => {
            await step.reserve({ estimatedUsd: 0.00325 });
            calls += 1;
            step.setCost({ inputUsd: 0.00125, outputUsd: 0.002 });
          });
        } catch (error) {
          if (CostspanError.isInstance(error) && error.code === 'budget_exceeded') return `stopped after ${calls}`;
          throw error;
        }
      }
      return 'not stopped';
    });
    expect(answer).toBe('stopped after 2');
    expect(calls).toBe(2);
  });

  it('estimates the reservation from the prompt with @costspan/pricing', async () => {
    const harness = createHarness();
    const gate = new RecordingGate();
    await harness.tracer.agentRun('estimated', { budget: gate }, (run) =>
      run.step('call', async (step) => {
        await step.reserve({ model: 'gpt-4o', provider: 'openai', input: 'hello world', maxOutputTokens: 1000 });
      }),
    );
    const [request] = gate.reserved;
    // 1000 output tokens at $10/M is $0.01, plus a few input tokens at $2.50/M.
    expect(request?.estimatedUsd).toBeGreaterThan(usdToPico(0.01));
    expect(request?.estimatedUsd).toBeLessThan(usdToPico(0.0101));
    expect(request?.estimatedTokens).toBeGreaterThan(1000);
    expect(gate.released).toHaveLength(1);
  });

  it('validates estimates', async () => {
    const harness = createHarness();
    await harness.tracer.agentRun('bad', (run) =>
      run.step('s', async (step) => {
        await expect(step.reserve({ estimatedUsd: -1 })).rejects.toMatchObject({ code: 'invalid_cost', field: 'estimatedUsd' });
        await expect(step.reserve({ estimatedTokens: 1.5 })).rejects.toMatchObject({ code: 'invalid_tokens' });
      }),
    );
  });
});

/** Refuses every call with the given error, as a BudgetGuard does when a limit is reached. */
class RefusingGate implements BudgetGate {
  constructor(private readonly error: Error) {}
  reserve(): Promise<BudgetReservation> {
    return Promise.reject(this.error);
  }
  record(): void {
    // Nothing is reserved, nothing to settle.
  }
  release(): void {
    // Nothing held.
  }
}

/** The fields of @costspan/budget's BudgetExceededError, built by shape: the SDK does not import the budget package. */
function refusal(fields: {
  limitType: string;
  scope: string;
  window: string;
  unit: 'usd' | 'tokens';
  limitExact: bigint;
  currentExact: bigint;
  attemptedExact: bigint;
  spentExact?: bigint;
  reservedExact?: bigint;
}): CostspanError {
  return Object.assign(new CostspanError({ code: 'budget_exceeded', message: 'budget exceeded' }), fields);
}

describe('budget refusal on the step span', () => {
  it('writes the refusing limit and exact USD amounts before rethrowing', async () => {
    const harness = createHarness();
    const error = refusal({
      limitType: 'user_daily',
      scope: 'user:alice',
      window: '2026-03-04',
      unit: 'usd',
      limitExact: usdToPico(0.01),
      currentExact: usdToPico('0.008'),
      attemptedExact: 4_000_000_001n,
      spentExact: usdToPico('0.005'),
      reservedExact: usdToPico('0.003'),
    });
    let caught: unknown;
    await harness.tracer.agentRun('limited', { budget: new RefusingGate(error) }, (run) =>
      run.step('call', async (step) => {
        try {
          await step.reserve({ estimatedUsd: 0.004 });
        } catch (thrown) {
          caught = thrown;
        }
      }),
    );
    expect(caught).toBe(error);
    await harness.flush();
    expect(harness.span('call').attributes).toMatchObject({
      [ATTR.BUDGET_REFUSED]: true,
      [ATTR.BUDGET_REFUSED_LIMIT_TYPE]: 'user_daily',
      [ATTR.BUDGET_REFUSED_SCOPE]: 'user:alice',
      [ATTR.BUDGET_REFUSED_WINDOW]: '2026-03-04',
      [ATTR.BUDGET_REFUSED_UNIT]: 'usd',
      [ATTR.BUDGET_REFUSED_LIMIT]: '0.01',
      [ATTR.BUDGET_REFUSED_CURRENT]: '0.008',
      // Exact to the pico-dollar, not a rounded double.
      [ATTR.BUDGET_REFUSED_ATTEMPTED]: '0.004000000001',
      [ATTR.BUDGET_REFUSED_SPENT]: '0.005',
      [ATTR.BUDGET_REFUSED_RESERVED]: '0.003',
    });
    // The processor puts it in the run's session event, so a stopped run says why.
    const [session] = harness.events.getEvents('llm.cost.session.recorded');
    expect(session?.payload.budget_refusals).toEqual([
      expect.objectContaining({
        step: 'call',
        limit_type: 'user_daily',
        scope: 'user:alice',
        unit: 'usd',
        limit: 0.01,
        current: 0.008,
        attempted: 0.004000000001,
        spent: 0.005,
        reserved: 0.003,
      }),
    ]);
  });

  it('writes token amounts as integers, and marks an unrecorded step span ERROR when the refusal escapes', async () => {
    const harness = createHarness();
    const error = refusal({
      limitType: 'per_request',
      scope: 'request',
      window: 'request',
      unit: 'tokens',
      limitExact: 9_007_199_254_740_993n,
      currentExact: 0n,
      attemptedExact: 12_000n,
    });
    await expect(
      harness.tracer.agentRun('limited', { budget: new RefusingGate(error) }, (run) =>
        run.step('call', (step) => step.reserve({ estimatedTokens: 12_000 })),
      ),
    ).rejects.toBe(error);
    await harness.flush();
    const span = harness.span('call');
    expect(span.attributes[ATTR.BUDGET_REFUSED_UNIT]).toBe('tokens');
    expect(span.attributes[ATTR.BUDGET_REFUSED_LIMIT]).toBe('9007199254740993');
    expect(span.attributes[ATTR.BUDGET_REFUSED_CURRENT]).toBe('0');
    expect(span.attributes[ATTR.BUDGET_REFUSED_ATTEMPTED]).toBe('12000');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('marks a refusal without details as refused only; other errors leave no mark', async () => {
    const harness = createHarness();
    const bare = new CostspanError({ code: 'budget_exceeded', message: 'over budget' });
    await expect(
      harness.tracer.agentRun('a', { budget: new RefusingGate(bare) }, (run) =>
        run.step('bare', (step) => step.reserve({ estimatedUsd: 1 })),
      ),
    ).rejects.toBe(bare);
    const down = new CostspanError({ code: 'budget_unavailable', message: 'store down' });
    await expect(
      harness.tracer.agentRun('b', { budget: new RefusingGate(down) }, (run) =>
        run.step('down', (step) => step.reserve({ estimatedUsd: 1 })),
      ),
    ).rejects.toBe(down);
    await harness.flush();
    const bareAttributes = harness.span('bare').attributes;
    expect(bareAttributes[ATTR.BUDGET_REFUSED]).toBe(true);
    expect(Object.keys(bareAttributes).filter((key) => key.startsWith('llm.cost.budget.'))).toEqual([ATTR.BUDGET_REFUSED]);
    expect(Object.keys(harness.span('down').attributes).filter((key) => key.startsWith('llm.cost.budget.'))).toEqual([]);
  });
});

describe('no prompt text in errors', () => {
  it('step.reserve with a malformed message: the error, exception event and status name the field only', async () => {
    const harness = createHarness();
    const secret = 'SECRET-PROMPT-TEXT about the merger';
    const gate = new RecordingGate();
    const input = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: { text: secret } },
    ] as never;
    await expect(
      harness.tracer.agentRun('leaky', { budget: gate }, (run) =>
        run.step('call', (step) => step.reserve({ model: 'gpt-4o', provider: 'openai', input, maxOutputTokens: 100 })),
      ),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
      field: 'input[1].content',
      message: 'input[1].content must be a string or parts array; got object',
    });
    await harness.flush();
    const span = harness.span('call');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'input[1].content must be a string or parts array; got object' });
    expect(span.events.map((event) => event.name)).toEqual(['exception']);
    expect(JSON.stringify({ events: span.events, status: span.status, attributes: span.attributes })).not.toContain('SECRET');
    expect(gate.reserved).toHaveLength(0);
  });

  it('a callback of the wrong type is named by its type, not quoted', () => {
    const harness = createHarness();
    let caught: unknown;
    try {
      harness.tracer.agentRun('run', {}, 'SECRET-PROMPT-TEXT' as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      code: 'invalid_argument',
      field: 'fn',
      message: 'agentRun(name, options, fn) needs a callback; got string',
    });
    expect((caught as CostspanError).value).toBeUndefined();
  });
});
