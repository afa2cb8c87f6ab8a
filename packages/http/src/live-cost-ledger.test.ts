import { describe, expect, it } from 'vitest';
import type { CostspanError } from '@costspan/core';
import type { CostEvent } from '@costspan/sdk';
import { LiveCostLedger } from './live-cost-ledger.js';

function tokenEvent(timestamp: string, costUsd: number, model = 'gpt-4o'): CostEvent {
  return {
    event_type: 'llm.cost.token.recorded',
    timestamp,
    payload: {
      cost: { input_cost_usd: costUsd, output_cost_usd: 0, total_cost_usd: costUsd },
      token_usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
      model: { system: 'openai', name: model },
      agent_name: 'support',
    },
  } as unknown as CostEvent;
}

describe('LiveCostLedger', () => {
  it('counts a call on its day in the ledger time zone, and projects the month exactly (half up)', () => {
    // 2026-03-01 23:30 UTC is already 2026-03-02 in Berlin (UTC+1).
    const ledger = new LiveCostLedger({ timeZone: 'Europe/Berlin', now: () => Date.UTC(2026, 2, 2, 12) });
    ledger.onEvent(tokenEvent('2026-03-01T23:30:00.000000Z', 0.1));
    ledger.onEvent(tokenEvent('2026-03-01T22:30:00.000000Z', 0.2));
    ledger.onEvent(tokenEvent('2026-02-28T10:00:00.000000Z', 5));
    const snapshot = ledger.snapshot();
    expect(snapshot.day).toBe('2026-03-02');
    expect(snapshot.today.costPico).toBe(100_000_000_000n);
    expect(snapshot.monthToDate.costPico).toBe(300_000_000_000n);
    // $0.3 over 2 days, 31 days: $4.65.
    expect(snapshot.projectedMonthPico).toBe(4_650_000_000_000n);
    expect(snapshot.monthToDate.byModel.get('gpt-4o')?.calls).toBe(2);
  });

  it('rounds the projection half up to the pico-dollar and drops days before last month', () => {
    let now = Date.UTC(2026, 1, 3, 12); // Feb 3, 28 days
    const ledger = new LiveCostLedger({ now: () => now });
    ledger.onEvent(tokenEvent('2026-02-01T00:00:00.000000Z', 0.000000000001)); // 1 pico
    ledger.onEvent(tokenEvent('2026-02-02T00:00:00.000000Z', 0.000000000001));
    // 2 pico / 3 days * 28 = 18.67 -> 19 pico
    expect(ledger.snapshot().projectedMonthPico).toBe(19n);
    now = Date.UTC(2026, 3, 1, 12); // April: February is two months back
    expect(ledger.snapshot().monthToDate.costPico).toBe(0n);
    now = Date.UTC(2026, 1, 3, 12);
    expect(ledger.snapshot().monthToDate.costPico).toBe(0n);
  });

  it('refuses an unknown time zone naming the field', () => {
    expect(() => new LiveCostLedger({ timeZone: 'Mars/Olympus' })).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'timeZone' }) as CostspanError,
    );
  });
});
