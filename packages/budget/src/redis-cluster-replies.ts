import type { BudgetStoreCrossing, BudgetStoreRefusal } from './budget-store.js';
import { unexpected } from './redis-store-shared.js';

export { member, rollingArgs, unexpected } from './redis-store-shared.js';

// Arguments to and replies from the budget script (redis-budget-script.ts) for one slot group of
// RedisClusterBudgetStore: indexes in a reply are positions in the group, mapped back to the call's.

export function refusalOf(reply: unknown, indexes: readonly number[]): BudgetStoreRefusal | undefined {
  if (!Array.isArray(reply) || reply.length === 0) throw unexpected(reply);
  if (reply[0] === 'ok') return undefined;
  const [, index, unit, current, spent, reserved] = reply as (string | undefined)[];
  const at = indexes[Number(index)];
  if (reply[0] !== 'refused' || (unit !== 'usd' && unit !== 'tokens') || at === undefined) throw unexpected(reply);
  const refusal: BudgetStoreRefusal = { index: at, unit, current: BigInt(String(current ?? '')) };
  if (spent !== undefined) refusal.spent = BigInt(spent);
  if (reserved !== undefined) refusal.reserved = BigInt(reserved);
  return refusal;
}

export function crossingsOf(reply: unknown, spending: readonly number[]): BudgetStoreCrossing[] {
  if (!Array.isArray(reply) || reply.length % 4 !== 0) throw unexpected(reply);
  const crossings: BudgetStoreCrossing[] = [];
  for (let at = 0; at < reply.length; at += 4) {
    const unit = reply[at + 1] as unknown;
    const index = spending[Number(reply[at])];
    if ((unit !== 'usd' && unit !== 'tokens') || index === undefined) throw unexpected(reply);
    crossings.push({ index, unit, threshold: Number(reply[at + 2]), spent: BigInt(String(reply[at + 3])) });
  }
  return crossings;
}
