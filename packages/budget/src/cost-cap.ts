import { picoToUsd, usdToPico, type PicoUsd } from '@costspan/core';
import { BudgetExceededError } from './budget-exceeded-error.js';
import { BudgetGuard } from './budget-guard.js';
import type { BudgetGuardOptions } from './budget-guard-types.js';

// SynapseKit's per-case max_cost_usd: one eval case runs under a budget of its own, whose
// refusal stops the call that would pass the cap; the case's cost comes back with its result.

/** Options of {@link withCostCap}. */
export interface CostCapOptions {
  /** The case's cap in USD (number or decimal string, > 0): a call whose estimate would pass it is refused. */
  maxUsd: number | string;
  /** The case's cap in tokens, besides USD. */
  maxTokens?: number;
  /** How the cap is checked: `projected` (default, never passed while actual ≤ estimate) or `exhausted`. */
  limitCheck?: BudgetGuardOptions['limitCheck'];
  /** Prices `{ model, inputTokens, outputTokens }` estimates (default `@costspan/pricing`'s). */
  priceSource?: BudgetGuardOptions['priceSource'];
  /** The guard's clock (tests). */
  now?: () => number;
}

/** What {@link withCostCap} resolves: the case's result and what it cost. */
export interface CostCapResult<T> {
  /** What `fn` returned; `undefined` when the cap refused a call and `fn` did not catch it. */
  result: T | undefined;
  /** The case's cost in USD (display) … */
  costUsd: number;
  /** … and exact, in pico-USD. */
  costPico: PicoUsd;
  /** Tokens the case used. */
  tokens: number;
  /** The cap, in USD. */
  maxUsd: number;
  /** The refusal that stopped the case (the first one `fn` let through), when the cap was reached. */
  refusal: BudgetExceededError | undefined;
  /** Errors the case's budget could not throw (store, alerts); empty normally. */
  errors: unknown[];
}

/**
 * Runs one eval case under its own cost cap: `fn` gets a fresh {@link BudgetGuard}
 * whose only limit is the cap (a global total), to pass as the run's budget
 * (`tracer.agentRun(name, { budget }, …)`) or to reserve on directly. A call that
 * would pass the cap is refused before it is made; a refusal `fn` does not catch
 * ends the case with `refusal` set instead of rejecting. Any other error rejects.
 * Each call has its own guard, so cases can run in parallel, in vitest or
 * `node:test` loops, without sharing state.
 *
 * @example
 * ```ts
 * for (const item of dataset) {
 *   const { result, costUsd, refusal } = await withCostCap({ maxUsd: 0.05 }, (budget) =>
 *     tracer.agentRun('eval-case', { budget }, (run) => answer(run, item.question)),
 *   );
 *   console.log(item.id, costUsd, refusal === undefined ? result : 'over the cap');
 * }
 * ```
 * @throws CostspanError `invalid_cost` / `invalid_argument` for a bad cap; whatever `fn` throws but a budget refusal
 */
export async function withCostCap<T>(options: CostCapOptions, fn: (budget: BudgetGuard) => Promise<T> | T): Promise<CostCapResult<T>> {
  const maxPico = usdToPico(options?.maxUsd, 'maxUsd');
  const errors: unknown[] = [];
  const guard = new BudgetGuard({
    limits: {
      global: {
        total: {
          usd: options.maxUsd,
          // Without a token cap, an alert that never fires keeps the token count readable.
          ...(options.maxTokens === undefined ? { alertAt: [{ tokens: Number.MAX_SAFE_INTEGER }] } : { tokens: options.maxTokens }),
        },
      },
    },
    circuitBreaker: false,
    // A fresh guard per case: no history across cases, no notices (refusals are the point here).
    history: false,
    onError: (error) => errors.push(error),
    ...(options.limitCheck === undefined ? {} : { limitCheck: options.limitCheck }),
    ...(options.priceSource === undefined ? {} : { priceSource: options.priceSource }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  let result: T | undefined;
  let refusal: BudgetExceededError | undefined;
  try {
    result = await fn(guard);
  } catch (error) {
    if (!BudgetExceededError.isInstance(error)) {
      await guard.shutdown();
      throw error;
    }
    refusal = error;
  }
  await guard.flush();
  const status = await guard.getBudget();
  await guard.shutdown();
  const usd = status.limits.find((limit) => limit.unit === 'usd');
  const tokens = status.limits.find((limit) => limit.unit === 'tokens');
  const spentPico = usd?.exact.spent ?? 0n;
  return {
    result,
    costUsd: picoToUsd(spentPico),
    costPico: spentPico,
    tokens: tokens === undefined ? 0 : Number(tokens.exact.spent),
    maxUsd: picoToUsd(maxPico),
    refusal,
    errors,
  };
}
