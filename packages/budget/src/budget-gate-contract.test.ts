import type { BudgetGate } from '@costspan/sdk';
import { describe, expect, it } from 'vitest';
import { BudgetGuard } from './budget-guard.js';

describe('SDK contract', () => {
  it('BudgetGuard is a BudgetGate as the SDK declares it (checked by the compiler, run by npm run typecheck)', () => {
    const gate: BudgetGate = new BudgetGuard({ limits: {} });
    expect(typeof gate.reserve).toBe('function');
    expect(typeof gate.record).toBe('function');
    expect(typeof gate.release).toBe('function');
  });
});
