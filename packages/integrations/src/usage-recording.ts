import { diag, type AttributeValue } from '@opentelemetry/api';
import { validateTokenUsage, type CostInput, type RecordUsageInput, type Step, type TokenUsageInput } from '@costspan/sdk';

/**
 * Span attribute set to `true` on a step when a model call's usage could not be
 * recorded: the response or stream carried none (e.g. a Chat Completions
 * stream without `stream_options.include_usage`), the stream ended early, or
 * the counts were inconsistent. Such a call is never recorded as $0.
 */
export const USAGE_MISSING_ATTRIBUTE = 'llm.cost.usage.missing';

/** Why the usage is missing: `not_reported`, `stream_incomplete` or `invalid`. */
export const USAGE_MISSING_REASON_ATTRIBUTE = 'llm.cost.usage.missing_reason';

/** Why a call's usage could not be recorded; the value of {@link USAGE_MISSING_REASON_ATTRIBUTE}. */
export type UsageMissingReason = 'not_reported' | 'stream_incomplete' | 'invalid';

/** Options of the `record*Usage` and `track*Stream` helpers. */
export interface UsageRecordOptions {
  /**
   * Model requested (`gen_ai.request.model`). Default: the model the response
   * names, which is then also the response model.
   */
  model?: string;
  /**
   * `gen_ai.provider.name`. Default: `openai` or `anthropic` for those helpers;
   * for the AI SDK, derived from the model's provider id (`openai.chat` → `openai`).
   * Set it when the client talks to a gateway (`openrouter`, `azure.ai.openai`, ...).
   */
  provider?: string;
  /**
   * Cost of the call, given by you; it wins over a provider-reported cost and
   * over the price table (`gen_ai.usage.cost.source = caller`).
   */
  cost?: CostInput;
}

const logger = diag.createComponentLogger({ namespace: '@costspan/integrations' });

/** What a response said about one call, already in the OpenTelemetry usage convention. */
export interface ObservedCall {
  /** Model the response names. */
  responseModel: string | undefined;
  usage: TokenUsageInput | undefined;
  /** Cost reported by the provider or a gateway, in USD. */
  providerCost: CostInput | undefined;
  /** Extra span attributes, e.g. the service tier. */
  attributes: Record<string, AttributeValue>;
}

/**
 * Records one observed call on `step`, or marks the step when the call has no
 * usable usage. Returns what was recorded.
 *
 * @throws CostspanError from the SDK for a step that has ended or invalid options
 */
export function recordObservedCall(
  step: Step,
  observed: ObservedCall,
  defaults: { provider: string | undefined; requestModel?: string | undefined },
  options: UsageRecordOptions,
): RecordUsageInput | undefined {
  for (const [key, value] of Object.entries(observed.attributes)) step.span.setAttribute(key, value);
  const model = options.model ?? defaults.requestModel ?? observed.responseModel;
  const provider = options.provider ?? defaults.provider;
  if (observed.usage === undefined || model === undefined) {
    markUsageMissing(step, 'not_reported', model);
    return undefined;
  }
  try {
    validateTokenUsage(observed.usage);
  } catch (error) {
    markUsageMissing(step, 'invalid', model, error);
    return undefined;
  }
  const call: RecordUsageInput = { model, usage: observed.usage };
  if (provider !== undefined) call.provider = provider;
  if (observed.responseModel !== undefined) call.responseModel = observed.responseModel;
  if (options.cost !== undefined) {
    call.cost = options.cost;
    call.costSource = 'caller';
  } else if (observed.providerCost !== undefined) {
    call.cost = observed.providerCost;
    call.costSource = 'provider';
  }
  step.recordUsage(call);
  return call;
}

/**
 * Marks `step` as having made a call whose usage is unknown, so that its cost
 * is visibly missing rather than silently $0.
 */
export function markUsageMissing(step: Step, reason: UsageMissingReason, model: string | undefined, cause?: unknown): void {
  step.span.setAttribute(USAGE_MISSING_ATTRIBUTE, true);
  step.span.setAttribute(USAGE_MISSING_REASON_ATTRIBUTE, reason);
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  logger.warn(
    `step "${step.name}": usage of a ${model ?? 'model'} call is ${reason.replace('_', ' ')}${detail}; it is not recorded and the step is marked ${USAGE_MISSING_ATTRIBUTE}=true`,
  );
}

/** Reports a failure of automatic recording without throwing into the caller's code. */
export function reportRecordingError(error: unknown): void {
  try {
    logger.error('could not record usage', error);
  } catch {
    // Nothing further can be reported.
  }
}

/** A non-negative integer, or `undefined` for `null`, absent or malformed values. */
export function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** A USD amount reported by a provider (number or decimal string), or `undefined`. */
export function usdAmount(value: unknown): number | undefined {
  const amount = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof amount === 'number' && Number.isFinite(amount) && amount >= 0 ? amount : undefined;
}

/** Builds a usage object, leaving out zero buckets. */
export function buildUsage(counts: {
  input: number;
  output: number;
  total?: number | undefined;
  cacheRead?: number | undefined;
  cacheWrite?: number | undefined;
  cacheWrite1h?: number | undefined;
  reasoning?: number | undefined;
}): TokenUsageInput {
  const usage: TokenUsageInput = { input: counts.input, output: counts.output };
  if (counts.total !== undefined && counts.total !== counts.input + counts.output) usage.total = counts.total;
  if (counts.cacheRead) usage.cacheRead = counts.cacheRead;
  if (counts.cacheWrite) usage.cacheWrite = counts.cacheWrite;
  if (counts.cacheWrite1h) usage.cacheWrite1h = Math.min(counts.cacheWrite1h, counts.cacheWrite ?? 0);
  if (counts.reasoning) usage.reasoning = counts.reasoning;
  return usage;
}

/**
 * A provider-reported total cost. Providers rarely split it; the span processor splits it in
 * the price table's proportions when it knows the model, else books it as input.
 */
export function totalCost(amount: number | undefined): CostInput | undefined {
  return amount === undefined ? undefined : { totalUsd: amount };
}

/**
 * Wraps `iterable`'s iterator in place so that every item is passed to
 * `observe` and `finish` runs once when iteration ends, however it ends.
 * The object keeps its type and other methods.
 */
export function observeIteration<Item>(
  iterable: AsyncIterable<Item>,
  observe: (item: Item) => void,
  finish: (completed: boolean) => void,
): void {
  const original = iterable[Symbol.asyncIterator].bind(iterable);
  let finished = false;
  const done = (completed: boolean): void => {
    if (finished) return;
    finished = true;
    try {
      finish(completed);
    } catch (error) {
      reportRecordingError(error);
    }
  };
  const wrapped = (): AsyncIterator<Item> => {
    const iterator = original();
    return {
      async next(...args: [] | [unknown]): Promise<IteratorResult<Item>> {
        let result: IteratorResult<Item>;
        try {
          result = await iterator.next(...args);
        } catch (error) {
          done(false);
          throw error;
        }
        if (result.done === true) done(true);
        else {
          try {
            observe(result.value);
          } catch (error) {
            reportRecordingError(error);
          }
        }
        return result;
      },
      async return(value?: unknown): Promise<IteratorResult<Item>> {
        done(false);
        return iterator.return === undefined ? { done: true, value: value as Item } : iterator.return(value);
      },
      async throw(error?: unknown): Promise<IteratorResult<Item>> {
        done(false);
        if (iterator.throw === undefined) throw error;
        return iterator.throw(error);
      },
      [Symbol.asyncIterator](): AsyncIterator<Item> {
        return this;
      },
    } as AsyncIterator<Item>;
  };
  Object.defineProperty(iterable, Symbol.asyncIterator, { value: wrapped, configurable: true, writable: true });
}
