// A worker process that shares a budget through Redis with other workers (see redis tests).
// argv: <redis url> <key prefix> <concurrent calls> <estimate USD> <limit USD>
// Protocol: sends {ready}, waits for "go", reserves/settles concurrently, sends the result.
import { BudgetGuard, BudgetExceededError, RedisBudgetStore } from '@costspan/budget';

const [url, keyPrefix, count, estimate, limit] = process.argv.slice(2);
const store = new RedisBudgetStore({ url, keyPrefix, timeoutMs: 5000 });
const guard = new BudgetGuard({ store, limits: { global: { daily: { usd: limit } } }, circuitBreaker: false });

async function call() {
  let reservation;
  try {
    reservation = await guard.reserve({ principal: { userId: `worker-${process.pid}` }, estimatedUsd: estimate });
  } catch (error) {
    if (BudgetExceededError.isInstance(error)) return 'refused';
    throw error;
  }
  // The "model call": a little latency so reservations from both processes overlap.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
  await guard.settle(reservation, estimate);
  return 'granted';
}

process.on('message', async (message) => {
  if (message !== 'go') return;
  try {
    const outcomes = await Promise.all(Array.from({ length: Number(count) }, call));
    const granted = outcomes.filter((outcome) => outcome === 'granted').length;
    process.send({ granted, refused: outcomes.length - granted }, () => {
      void store.close().then(() => process.exit(0));
    });
  } catch (error) {
    process.send({ error: String(error?.stack ?? error) }, () => process.exit(1));
  }
});
process.send({ ready: true });
