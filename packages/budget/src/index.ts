export { BudgetGuard } from './budget-guard.js';
export type {
  BudgetAlert,
  BudgetCheckResult,
  BudgetEstimateSource,
  BudgetGuardOptions,
  BudgetPriceSource,
  BudgetLimitStatus,
  BudgetReservation,
  BudgetReserveInput,
  BudgetStatus,
} from './budget-guard-types.js';
export { BudgetExceededError } from './budget-exceeded-error.js';
export type {
  BudgetCounterLimitType,
  BudgetExceededErrorOptions,
  BudgetLimitType,
  BudgetRefusedCall,
  BudgetScopeName,
  BudgetUnit,
  BudgetWindowName,
} from './budget-exceeded-error.js';
export type { BudgetAlertThreshold, BudgetAmount, BudgetLimits, BudgetRollingAmount, BudgetWindowLimits } from './budget-limits.js';
export type { BudgetLimitOverride, BudgetLimitTarget } from './limit-overrides.js';
export type { BudgetHistoryOptions } from './history-estimate.js';
export { BUDGET_METRICS, BUDGET_METRIC_ATTRIBUTES, BudgetMetrics } from './budget-metrics.js';
export type { BudgetMetricsOptions, BudgetMetricsTarget } from './budget-metrics.js';
export { withCostCap } from './cost-cap.js';
export type { CostCapOptions, CostCapResult } from './cost-cap.js';
export type {
  BudgetLimitCheck,
  BudgetStore,
  BudgetStoreCallOptions,
  BudgetStoreCommitRequest,
  BudgetStoreCounter,
  BudgetStoreCrossing,
  BudgetStoreLimit,
  BudgetStoreReading,
  BudgetStoreReadOptions,
  BudgetStoreRefusal,
  BudgetStoreRelease,
  BudgetStoreReserveRequest,
  BudgetStoreSample,
} from './budget-store.js';
export { CalendarWindow } from './calendar-window.js';
export type { CalendarWindows } from './calendar-window.js';
export type { CircuitState } from './circuit-breaker.js';
export type { BudgetGate, BudgetReservation as BudgetGateReservation, BudgetReserveRequest, BudgetSpend, Principal } from '@costspan/sdk';
export { InMemoryBudgetStore } from './in-memory-budget-store.js';
export { RedisBudgetStore } from './redis-budget-store.js';
export type { RedisBudgetStoreOptions } from './redis-budget-store.js';
export { RedisClusterBudgetStore } from './redis-cluster-budget-store.js';
export type { RedisClusterBudgetStoreOptions } from './redis-cluster-budget-store.js';
