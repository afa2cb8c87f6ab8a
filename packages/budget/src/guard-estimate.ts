import { invalidInput } from '@costspan/core';
import type { BudgetEstimateSource, BudgetPriceSource, BudgetReserveInput } from './budget-guard-types.js';
import type { FullBudgetStore } from './store-features.js';
import { decayingQuantile, historyKey, type HistorySettings } from './history-estimate.js';
import { optionalId, toPico, toTokens } from './guard-input.js';

// What a reserve or check estimates: the caller's amounts, else model and tokens priced, else
// what the same agent and step cost recently (history), else nothing (0).

/** @internal A resolved estimate. */
export interface Estimate {
  pico: bigint;
  tokens: bigint;
  outputTokens: bigint | undefined;
  source: BudgetEstimateSource;
}

/** @internal The validated call context of a reserve or check input. */
export interface CallContext {
  model: string | undefined;
  agent: string | undefined;
  step: string | undefined;
  runId: string | undefined;
}

/** @internal */
export function callContextOf(input: BudgetReserveInput): CallContext {
  return {
    model: optionalId(input.model, 'model'),
    agent: optionalId(input.agentName, 'agentName'),
    step: optionalId(input.step, 'step'),
    runId: optionalId(input.runId, 'runId'),
  };
}

/** @internal What the guard needs to estimate. */
export interface EstimateSources {
  priceSource: () => BudgetPriceSource;
  history: HistorySettings | undefined;
  store: FullBudgetStore;
  now: number;
}

/** @internal Resolves the estimate of `input` (may read the store for history). */
export async function estimateOf(input: BudgetReserveInput, context: CallContext, sources: EstimateSources): Promise<Estimate> {
  const inputTokens = input.inputTokens === undefined ? undefined : toTokens(input.inputTokens, 'inputTokens');
  const outputTokens = input.outputTokens === undefined ? undefined : toTokens(input.outputTokens, 'outputTokens');
  const output = outputTokens === undefined ? undefined : BigInt(outputTokens);
  if (input.estimatedUsd !== undefined || input.estimatedTokens !== undefined) {
    return {
      pico: toPico(input.estimatedUsd, 'estimatedUsd'),
      tokens: BigInt(toTokens(input.estimatedTokens, 'estimatedTokens')),
      outputTokens: output,
      source: 'caller',
    };
  }
  if (inputTokens !== undefined || outputTokens !== undefined) {
    if (context.model === undefined) throw invalidInput('invalid_argument', 'model', undefined, 'the model whose tokens to price');
    const tokens = BigInt((inputTokens ?? 0) + (outputTokens ?? 0));
    const priced = sources.priceSource().price({
      model: context.model,
      usage: { input: inputTokens ?? 0, output: outputTokens ?? 0 },
      timestamp: sources.now,
    });
    if (priced.status === 'priced') {
      const { input: cost, output: out, reasoning, cachedDiscount } = priced.cost;
      return { pico: cost + out + reasoning - cachedDiscount, tokens, outputTokens: output, source: 'pricing' };
    }
    const fromHistory = await historyEstimate(context, sources);
    if (fromHistory !== undefined)
      return { ...fromHistory, tokens: tokens > fromHistory.tokens ? tokens : fromHistory.tokens, outputTokens: output };
    throw invalidInput('unknown_model', 'model', context.model, `a model the price source knows (${priced.reason}); or pass estimatedUsd`);
  }
  const fromHistory = await historyEstimate(context, sources);
  return fromHistory === undefined
    ? { pico: 0n, tokens: 0n, outputTokens: output, source: 'none' }
    : { ...fromHistory, outputTokens: output };
}

async function historyEstimate(context: CallContext, sources: EstimateSources): Promise<Omit<Estimate, 'outputTokens'> | undefined> {
  if (sources.history === undefined || context.agent === undefined) return undefined;
  let samples;
  try {
    samples = await sources.store.readSamples(historyKey(context.agent, context.step));
  } catch {
    return undefined; // no history is no estimate; the reserve that follows meets the store's failure itself
  }
  const estimate = decayingQuantile(samples, sources.now, sources.history);
  return estimate === undefined ? undefined : { pico: estimate.pico, tokens: estimate.tokens, source: 'history' };
}
