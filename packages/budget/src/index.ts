export { BudgetGuard } from './budget-guard.js';
export type {
  BudgetAlert,
  BudgetGuardOptions,
  BudgetLimitStatus,
  BudgetReservation,
  BudgetReserveInput,
  BudgetStatus,
} from './budget-guard-types.js';
export { BudgetExceededError } from './budget-exceeded-error.js';
export type { BudgetExceededErrorOptions, BudgetLimitType, BudgetUnit } from './budget-exceeded-error.js';
export type { BudgetAlertThreshold, BudgetAmount, BudgetLimits, BudgetWindowLimits } from './budget-limits.js';
export type {
  BudgetLimitCheck,
  BudgetStore,
  BudgetStoreCommitRequest,
  BudgetStoreCounter,
  BudgetStoreCrossing,
  BudgetStoreReading,
  BudgetStoreRefusal,
  BudgetStoreRelease,
  BudgetStoreReserveRequest,
} from './budget-store.js';
export { CalendarWindow } from './calendar-window.js';
export type { CalendarWindows } from './calendar-window.js';
export type { CircuitState } from './circuit-breaker.js';
export type { BudgetGate, BudgetReservation as BudgetGateReservation, BudgetReserveRequest, BudgetSpend, Principal } from '@costspan/sdk';
export { InMemoryBudgetStore } from './in-memory-budget-store.js';
export { RedisBudgetStore } from './redis-budget-store.js';
export type { RedisBudgetStoreOptions } from './redis-budget-store.js';
