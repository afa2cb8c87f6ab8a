// An admin process that sets and removes per-principal limits in a Redis budget store shared
// with the test process (see redis-guard-features.test.ts).
// argv: <redis url> <key prefix>. Protocol: sends {ready}; on {op, target, limits} replies {done}.
import { BudgetGuard, RedisBudgetStore } from '@costspan/budget';

const [url, keyPrefix] = process.argv.slice(2);
const store = new RedisBudgetStore({ url, keyPrefix, timeoutMs: 5000 });
const guard = new BudgetGuard({ store, limits: {} });

process.on('message', async (message) => {
  try {
    if (message.op === 'set') await guard.setLimit(message.target, message.limits);
    else if (message.op === 'remove') await guard.removeLimit(message.target);
    else if (message.op === 'exit') {
      await store.close();
      process.exit(0);
    }
    process.send({ done: true });
  } catch (error) {
    process.send({ error: String(error?.stack ?? error) });
  }
});
process.send({ ready: true });
