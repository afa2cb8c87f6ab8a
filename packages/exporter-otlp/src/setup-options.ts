import type { DiagLogger } from '@opentelemetry/api';
import { CostspanError, MAX_TIMER_MILLIS, millisecondsOption } from '@costspan/core';
import { exportTimeoutMillis } from './export-retry.js';
import { checkedTimeoutMillis } from './otlp-config.js';
import type { CostspanOtlpOptions } from './register-costspan.js';
import { spanQueueLimits, type SpanQueueLimits } from './span-export.js';

// The setup's own numeric options, checked before anything is made so that bad input throws naming the
// option the user passed (never one the setup derives from it), with nothing left running.

/** Bounds of a flush or shutdown. */
export interface FlushOptions {
  /**
   * Give up waiting after this long; what is left is counted and reported. Default: `shutdownTimeoutMillis`, also
   * used (the bad value told through `diag`) unless this is from 1 to 2147483647 ms: these calls never reject.
   */
  timeoutMillis?: number;
}

/** What {@link setupLimits} resolves. */
export interface SetupLimits {
  shutdownTimeoutMillis: number;
  retryTimeoutMillis: number;
  /** The cost event pipeline's `exportTimeoutMillis`: long enough for the log exporter's own retries. */
  pipelineExportTimeoutMillis: number;
  /** The span batch processor's limits; undefined with `exportSpans: false`. */
  spanQueue: SpanQueueLimits | undefined;
}

/**
 * Checks `shutdownTimeoutMillis`, `retryTimeoutMillis`, `timeoutMillis`, `costs.exportTimeoutMillis`
 * and `spanQueue.*`, and derives the pipeline's export bound from them.
 *
 * @throws CostspanError `invalid_argument` naming the option out of range
 */
export function setupLimits(options: CostspanOtlpOptions): SetupLimits {
  const shutdownTimeoutMillis = millisecondsOption(options.shutdownTimeoutMillis, 'shutdownTimeoutMillis', { fallback: 10_000 });
  const retryTimeoutMillis = millisecondsOption(options.retryTimeoutMillis, 'retryTimeoutMillis', { fallback: 25_000, min: 0 });
  const timeoutMillis = checkedTimeoutMillis(options);
  const costsExportTimeout = millisecondsOption(options.costs?.exportTimeoutMillis, 'costs.exportTimeoutMillis', { fallback: 0 });
  // The pipeline must wait for the exporter's own retries, or it would count a batch failed that is later
  // delivered; capped at the longest timer delay, which the pipeline's own check asks of it.
  const retriesBound = retryTimeoutMillis + exportTimeoutMillis(timeoutMillis, 'LOGS') + 5000;
  return {
    shutdownTimeoutMillis,
    retryTimeoutMillis,
    pipelineExportTimeoutMillis: Math.min(MAX_TIMER_MILLIS, Math.max(costsExportTimeout, retriesBound)),
    spanQueue: options.exportSpans === false ? undefined : spanQueueLimits(options.spanQueue ?? {}),
  };
}

/**
 * An error of the cost processor made from `costs`, naming the field as the setup's user spells it
 * (`costs.maxQueueSize`, not `maxQueueSize`); any other error as it is.
 */
export function underCosts(error: unknown): unknown {
  if (!CostspanError.isInstance(error) || error.field === undefined || !error.message.startsWith(error.field)) return error;
  return new CostspanError({
    code: error.code,
    field: `costs.${error.field}`,
    value: error.value,
    message: `costs.${error.message}`,
    cause: error,
  });
}

/**
 * The bound of one `forceFlush` or `shutdown`: `timeoutMillis` when it is from 1 to 2147483647 ms, else
 * `fallback`. Those calls never reject (they run at exit too), so a bad value is told through `logger`.
 */
export function flushTimeoutMillis(options: FlushOptions, fallback: number, logger: DiagLogger): number {
  try {
    return millisecondsOption(options.timeoutMillis, 'timeoutMillis', { fallback });
  } catch (error) {
    logger.warn(`${(error as Error).message}; waiting shutdownTimeoutMillis (${fallback} ms) instead`);
    return fallback;
  }
}
