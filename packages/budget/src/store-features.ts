import { CostspanError } from '@costspan/core';
import type { BudgetStore, BudgetStoreCallOptions, BudgetStoreLimit, BudgetStoreSample } from './budget-store.js';

// A store written for the first BudgetStore interface (reserve, commit, read, close) keeps
// working: the later, optional methods get neutral stand-ins here, and the features that
// need them say so when used.

/** @internal Every method of a store, with stand-ins for the optional ones it lacks. */
export interface FullBudgetStore extends BudgetStore {
  setLimit(scope: string, limits: string): Promise<void>;
  removeLimit(scope: string): Promise<boolean>;
  getLimits(scopes: readonly string[]): Promise<(string | undefined)[]>;
  listLimits(): Promise<BudgetStoreLimit[]>;
  reset(keys?: readonly string[], options?: BudgetStoreCallOptions): Promise<void>;
  claimOnce(key: string, ttlMs: number, options?: BudgetStoreCallOptions): Promise<boolean>;
  addSample(key: string, sample: BudgetStoreSample, keep: number, options?: BudgetStoreCallOptions): Promise<void>;
  readSamples(key: string): Promise<BudgetStoreSample[]>;
}

function unsupported(feature: string): Promise<never> {
  return Promise.reject(
    new CostspanError({
      code: 'invalid_argument',
      message: `this budget store does not implement ${feature}: use InMemoryBudgetStore or RedisBudgetStore, or add the method to your store`,
    }),
  );
}

/** @internal */
export function fullStore(store: BudgetStore): FullBudgetStore {
  return {
    reserve: (request) => store.reserve(request),
    commit: (request) => store.commit(request),
    read: (keys, now, options) => store.read(keys, now, options),
    close: () => store.close(),
    setLimit: (scope, limits) => (store.setLimit === undefined ? unsupported('setLimit') : store.setLimit(scope, limits)),
    removeLimit: (scope) => (store.removeLimit === undefined ? unsupported('removeLimit') : store.removeLimit(scope)),
    getLimits: (scopes) => (store.getLimits === undefined ? Promise.resolve(scopes.map(() => undefined)) : store.getLimits(scopes)),
    listLimits: () => (store.listLimits === undefined ? Promise.resolve([]) : store.listLimits()),
    reset: (keys, options) => (store.reset === undefined ? unsupported('reset') : store.reset(keys, options)),
    // Without claims, the crossing the store detected atomically fires (once per process that books it).
    claimOnce: (key, ttlMs, options) => (store.claimOnce === undefined ? Promise.resolve(true) : store.claimOnce(key, ttlMs, options)),
    addSample: (key, sample, keep, options) =>
      store.addSample === undefined ? Promise.resolve() : store.addSample(key, sample, keep, options),
    readSamples: (key) => (store.readSamples === undefined ? Promise.resolve([]) : store.readSamples(key)),
  };
}
