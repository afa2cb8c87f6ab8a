// A worker process reserving on shared budgets in a Redis Cluster (see redis-cluster-budget-store.test.ts).
// argv: <startup nodes JSON> <key prefix> <concurrent calls> <estimate USD> <limits JSON> <user ids JSON>
// Protocol: sends {ready}, waits for "go", reserves/settles concurrently, sends the result.
import { BudgetGuard, BudgetExceededError, RedisClusterBudgetStore } from '@costspan/budget';

const [nodes, keyPrefix, count, estimate, limits, users] = process.argv.slice(2);
const userIds = JSON.parse(users);
const store = new RedisClusterBudgetStore({ nodes: JSON.parse(nodes), keyPrefix, timeoutMs: 5000 });
const guard = new BudgetGuard({ store, limits: JSON.parse(limits), circuitBreaker: false });

async function call(index) {
  const userId = userIds[index % userIds.length];
  let reservation;
  try {
    reservation = await guard.reserve({ principal: { userId, teamId: 'shared' }, estimatedUsd: estimate });
  } catch (error) {
    if (BudgetExceededError.isInstance(error)) return { userId, granted: false };
    throw error;
  }
  // The "model call": a little latency so reservations from every process overlap.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
  await guard.settle(reservation, estimate);
  return { userId, granted: true };
}

process.on('message', async (message) => {
  if (message !== 'go') return;
  try {
    const outcomes = await Promise.all(Array.from({ length: Number(count) }, (_, index) => call(index)));
    const grantedByUser = {};
    for (const outcome of outcomes) if (outcome.granted) grantedByUser[outcome.userId] = (grantedByUser[outcome.userId] ?? 0) + 1;
    process.send({ grantedByUser, calls: outcomes.length }, () => {
      void store.close().then(() => process.exit(0));
    });
  } catch (error) {
    process.send({ error: String(error?.stack ?? error) }, () => process.exit(1));
  }
});
// The test runner went away (a failed or timed-out test): do not outlive it.
process.on('disconnect', () => process.exit(1));
process.send({ ready: true });
