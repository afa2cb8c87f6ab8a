import { describe, expect, it } from 'vitest';
import { CostspanError } from '@costspan/core';
import { BudgetGuard } from './budget-guard.js';
import type { BudgetReserveInput } from './budget-guard-types.js';

describe('reserve: a request that is not an object', () => {
  it.each([null, 5, 'alice', true])('rejects %s with invalid_argument naming the request, reserving nothing', async (request) => {
    const guard = new BudgetGuard({ limits: { global: { daily: { usd: 1 } } }, onError: () => undefined });
    const rejected: unknown = await guard.reserve(request as unknown as BudgetReserveInput).catch((error: unknown) => error);
    expect(CostspanError.isInstance(rejected)).toBe(true);
    expect(rejected).toMatchObject({ code: 'invalid_argument', field: 'request' });
    expect((await guard.getBudget()).limits[0]?.reserved).toBe(0);
    await guard.shutdown();
  });
});
