import type {
  BudgetGate as SdkBudgetGate,
  BudgetReservation as SdkBudgetReservation,
  BudgetReserveRequest as SdkBudgetReserveRequest,
  BudgetSpend as SdkBudgetSpend,
  Principal as SdkPrincipal,
} from '@costspan/sdk';
import { describe, expect, it } from 'vitest';
import { BudgetGuard } from './budget-guard.js';
import type { BudgetGate, BudgetGateReservation, BudgetReserveRequest, BudgetSpend, Principal } from './gate-types.js';

// Compile-time checks (run by `npm run typecheck`): the local copies and the SDK's contract are
// mutually assignable, and BudgetGuard is a BudgetGate as the SDK declares it.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameTypes: [
  Same<Principal, SdkPrincipal>,
  Same<BudgetReserveRequest, SdkBudgetReserveRequest>,
  Same<BudgetGateReservation, SdkBudgetReservation>,
  Same<BudgetSpend, SdkBudgetSpend>,
  Same<BudgetGate, SdkBudgetGate>,
] = [true, true, true, true, true];

describe('SDK contract', () => {
  it('BudgetGuard satisfies the SDK BudgetGate', () => {
    const gate: SdkBudgetGate = new BudgetGuard({ limits: {} });
    expect(sameTypes).toEqual([true, true, true, true, true]);
    expect(typeof gate.reserve).toBe('function');
    expect(typeof gate.record).toBe('function');
    expect(typeof gate.release).toBe('function');
  });
});
