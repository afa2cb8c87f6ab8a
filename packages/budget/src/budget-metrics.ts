import {
  ValueType,
  type Attributes,
  type BatchObservableResult,
  type Meter,
  type MeterProvider,
  type ObservableGauge,
} from '@opentelemetry/api';
import { integerOption, millisecondsOption } from '@costspan/core';
import { notice } from '@costspan/sdk/internal';
import type { BudgetGuard } from './budget-guard.js';
import type { BudgetLimitStatus } from './budget-guard-types.js';
import { targetPrincipal } from './guard-support.js';
import type { BudgetLimitTarget } from './limit-overrides.js';
import { reportBudgetError } from './report-error.js';

/** Names of the budget gauges. Prometheus renders them with `_` for `.` (`llm_cost_budget_remaining`). */
export const BUDGET_METRICS = {
  /** Spent in the limit's current window (USD or tokens, per `llm.cost.budget.unit`). */
  SPENT: 'llm.cost.budget.spent',
  /** Held by live reservations in the window. */
  RESERVED: 'llm.cost.budget.reserved',
  /** `limit − spent − reserved`, never below 0; only for limits with a hard amount. */
  REMAINING: 'llm.cost.budget.remaining',
  /** The hard limit itself, so a dashboard can show headroom as a share. */
  LIMIT: 'llm.cost.budget.limit',
} as const;

/** Attributes of every budget gauge point: which limit, whose budget, which window, which unit. */
export const BUDGET_METRIC_ATTRIBUTES = {
  LIMIT_TYPE: 'llm.cost.budget.limit_type',
  SCOPE: 'llm.cost.budget.scope',
  WINDOW: 'llm.cost.budget.window',
  UNIT: 'llm.cost.budget.unit',
} as const;

/** A budget target to observe: `{}` for the global limits, or a `setLimit` target. */
export type BudgetMetricsTarget = BudgetLimitTarget | Record<string, never>;

/** Options of {@link BudgetMetrics}. */
export interface BudgetMetricsOptions {
  /** The guard to read. */
  guard: BudgetGuard;
  /** Where the gauges are registered (e.g. the `MeterProvider` given to `CostSpanProcessor`). */
  meterProvider: MeterProvider;
  /**
   * Targets observed besides the global limits and every target of `guard.listLimits()`, e.g.
   * `[{ userId: 'alice' }, { teamId: 'search' }]` for limits configured per user or team by default.
   */
  targets?: readonly BudgetMetricsTarget[];
  /** Targets read per collection, at most (each is one store read); the rest are left out, told once. Default 100. */
  maxTargets?: number;
  /**
   * Longest wait for the store per collection. Past it the collection gets the last readings
   * (or none), and the failure goes to `onError`. Default 2000 ms.
   */
  timeoutMs?: number;
  /** Receives failures of reading the guard. Default: OpenTelemetry `diag` (component `@costspan/budget`). */
  onError?: (error: unknown) => void;
}

interface Reading {
  attributes: Attributes;
  status: BudgetLimitStatus;
}

/**
 * Observable gauges of a {@link BudgetGuard}: spent, reserved, remaining and the limit, per
 * limit type, scope, window and unit, read from the guard's store at each metric collection
 * (`getBudget` of the global limits, of each `listLimits()` target and of `targets`). Values are
 * doubles (display amounts); the exact figures stay in the store and `getBudget`'s `exact`.
 * A collection never waits longer than `timeoutMs` and never throws.
 *
 * @example
 * ```ts
 * const guard = new BudgetGuard({ limits: { global: { daily: { usd: 50 } }, user: { daily: { usd: 5 } } } });
 * const budgetMetrics = new BudgetMetrics({ guard, meterProvider, targets: [{ userId: 'alice' }] });
 * // later: budgetMetrics.close();
 * ```
 */
export class BudgetMetrics {
  private readonly guard: BudgetGuard;
  private readonly meter: Meter;
  private readonly gauges: Record<'spent' | 'reserved' | 'remaining' | 'limit', ObservableGauge>;
  private readonly targets: BudgetMetricsTarget[];
  private readonly maxTargets: number;
  private readonly timeoutMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly callback = (result: BatchObservableResult): Promise<void> => this.collect(result);
  private last: Reading[] = [];
  private inFlight: Promise<Reading[] | undefined> | undefined;
  private closed = false;

  /**
   * @throws CostspanError naming the field of a bad target (`targets[i]` as `setLimit` checks it), a
   *   `maxTargets` that is not an integer ≥ 1 or a `timeoutMs` that is not 1 to 2147483647 ms
   */
  constructor(options: BudgetMetricsOptions) {
    this.guard = options.guard;
    this.targets = [{}, ...(options.targets ?? [])];
    // A bad target is a configuration error: said now, naming the field, not at every collection.
    for (const target of this.targets) targetPrincipal(target);
    this.maxTargets = integerOption(options.maxTargets, 'maxTargets', { fallback: 100 });
    this.timeoutMs = millisecondsOption(options.timeoutMs, 'timeoutMs', { fallback: 2000 });
    this.onError = options.onError ?? ((error) => reportBudgetError(error, 'budget metrics'));
    this.meter = options.meterProvider.getMeter('@costspan/budget');
    const gauge = (name: string, description: string): ObservableGauge =>
      this.meter.createObservableGauge(name, { description, valueType: ValueType.DOUBLE });
    this.gauges = {
      spent: gauge(BUDGET_METRICS.SPENT, 'Spent in the current window of a budget limit (USD or tokens, see llm.cost.budget.unit).'),
      reserved: gauge(BUDGET_METRICS.RESERVED, 'Held by live reservations in the current window of a budget limit.'),
      remaining: gauge(BUDGET_METRICS.REMAINING, 'Limit minus spent minus reserved (never below 0) of a budget limit.'),
      limit: gauge(BUDGET_METRICS.LIMIT, 'The hard amount of a budget limit.'),
    };
    this.meter.addBatchObservableCallback(this.callback, Object.values(this.gauges));
  }

  /** Stops observing the guard (the gauges report nothing from the next collection on). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.meter.removeBatchObservableCallback(this.callback, Object.values(this.gauges));
  }

  private async collect(result: BatchObservableResult): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), this.timeoutMs);
      });
      // One read at a time: a store that hangs holds one read, not one per collection.
      const started = this.inFlight === undefined;
      const read = (this.inFlight ??= this.read().then(
        (readings) => {
          this.inFlight = undefined;
          this.last = readings;
          return readings;
        },
        (error: unknown) => {
          this.inFlight = undefined;
          this.report(error);
          return undefined;
        },
      ));
      const readings = await Promise.race([read, timeout]);
      if (readings === undefined && started) {
        void read.then((late) => {
          if (late !== undefined)
            this.report(
              new Error(`budget metrics: the budget store answered after ${this.timeoutMs} ms; the collection used the previous readings`),
            );
        });
      }
      for (const { attributes, status } of this.last) this.observe(result, attributes, status);
    } catch (error) {
      this.report(error);
    } finally {
      clearTimeout(timer);
    }
  }

  private observe(result: BatchObservableResult, attributes: Attributes, status: BudgetLimitStatus): void {
    result.observe(this.gauges.spent, status.spent, attributes);
    result.observe(this.gauges.reserved, status.reserved, attributes);
    if (status.limit !== undefined) result.observe(this.gauges.limit, status.limit, attributes);
    if (status.remaining !== undefined) result.observe(this.gauges.remaining, status.remaining, attributes);
  }

  private async read(): Promise<Reading[]> {
    const targets = [...this.targets];
    try {
      for (const override of await this.guard.listLimits()) targets.push(override.target);
    } catch {
      // A store without overrides (listLimits is optional): the configured targets still count.
    }
    const unique = [...new Map(targets.map((target) => [JSON.stringify(target), target])).values()];
    if (unique.length > this.maxTargets) {
      notice(
        'budget_metrics_targets',
        `budget metrics: ${unique.length} budget targets, more than maxTargets (${this.maxTargets}); only the first ${this.maxTargets} are observed. Raise maxTargets or observe fewer targets.`,
      );
    }
    const statuses = await Promise.all(
      unique.slice(0, this.maxTargets).map(async (target) => {
        const { principal, context } = targetPrincipal(target);
        const options = {
          ...(context.model === undefined ? {} : { model: context.model }),
          ...(context.agent === undefined ? {} : { agentName: context.agent }),
        };
        return (await this.guard.getBudget(principal, options)).limits;
      }),
    );
    const byLimit = new Map<string, Reading>();
    for (const status of statuses.flat()) {
      const attributes = {
        [BUDGET_METRIC_ATTRIBUTES.LIMIT_TYPE]: status.limitType,
        [BUDGET_METRIC_ATTRIBUTES.SCOPE]: status.scope,
        [BUDGET_METRIC_ATTRIBUTES.WINDOW]: status.window,
        [BUDGET_METRIC_ATTRIBUTES.UNIT]: status.unit,
      };
      byLimit.set(`${status.limitType}\u0000${status.scope}\u0000${status.window}\u0000${status.unit}`, { attributes, status });
    }
    return [...byLimit.values()];
  }

  private report(error: unknown): void {
    try {
      this.onError(error);
    } catch {
      // The error sink itself failed; a metric collection must not.
    }
  }
}
