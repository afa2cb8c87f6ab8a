import type { DiagLogger } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { environmentPositive } from './otlp-config.js';
import { isRetryableGrpcError } from './otlp-grpc-exporters.js';

// What the OTLP log exporter retries and how it waits: the specification's retryable failures,
// and waits that end on time whatever the promise does.

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** Waits for `work` at most `millis`; never rejects (failures are counted by the callers). */
export async function settleWithin(work: Promise<unknown>, millis: number, logger: DiagLogger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, millis));
  });
  await Promise.race([
    work.then(noop, (error: unknown) => logger.debug('flush or shutdown of the OTLP log exporter failed', error)),
    expired,
  ]);
  clearTimeout(timer);
}

function noop(): void {}

/**
 * True for failures worth retrying, as the OTLP specification lists them:
 * 429/502/503/504, the retryable gRPC codes (UNAVAILABLE, ...), network errors, timeouts. The OpenTelemetry exporter hands
 * these back (after its own retries) as errors of the shapes checked here.
 */
export function isRetryableExportError(error: Error | undefined): boolean {
  if (error === undefined) return true;
  if (isRetryableGrpcError(error)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return RETRYABLE_NETWORK_CODES.has(code);
  if (typeof code === 'number') return RETRYABLE_STATUS.has(code);
  return /retryable|timed out|concurrent export limit/i.test(error.message);
}

/** The error as one line for a diagnostic: its message and code. */
export function describeExportError(error: Error | undefined): string {
  if (error === undefined) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  return code === undefined
    ? error.message
    : `${error.message} (${typeof code === 'string' || typeof code === 'number' ? String(code) : JSON.stringify(code)})`;
}

/** Slack over the export timeout before an attempt is given up on: the exporter's last retry may start just before it. */
const ATTEMPT_SLACK_MILLIS = 1000;

/**
 * How long one attempt of the OTLP exporter underneath may take before it is given up on (and retried):
 * its export timeout (option, `OTEL_EXPORTER_OTLP_<SIGNAL>_TIMEOUT`, `OTEL_EXPORTER_OTLP_TIMEOUT`, 10000 ms)
 * plus slack. The exporter's own timeout is an idle timeout: a collector trickling its answer defeats it.
 */
export function attemptTimeoutMillis(timeoutMillis: number | undefined, signal: 'LOGS' | 'TRACES' = 'LOGS'): number {
  return exportTimeoutMillis(timeoutMillis, signal) + ATTEMPT_SLACK_MILLIS;
}

/**
 * The export timeout of the OTLP exporter underneath: `timeoutMillis` (checked by the public constructors with
 * `checkedTimeoutMillis`), else `OTEL_EXPORTER_OTLP_<SIGNAL>_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10000 ms.
 */
export function exportTimeoutMillis(timeoutMillis: number | undefined, signal: 'LOGS' | 'TRACES'): number {
  return (
    timeoutMillis ??
    environmentPositive(`OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`) ??
    environmentPositive('OTEL_EXPORTER_OTLP_TIMEOUT') ??
    10_000
  );
}

/**
 * Runs one export started by `start`, answering with `handlers.onAnswer(result)` (in the callback's own step),
 * or a retryable timeout failure when no answer came within `millis`; a later answer goes to `handlers.onLate` only.
 */
export function answerWithin<R>(
  start: (callback: (result: ExportResult) => void) => void,
  millis: number,
  handlers: { onAnswer: (result: ExportResult) => R; onLate: () => void },
): Promise<R | ExportResult> {
  return new Promise((resolve) => {
    let answered = false;
    const timer = setTimeout(() => {
      answered = true;
      resolve({ code: ExportResultCode.FAILED, error: new Error(`OTLP export timed out after ${millis} ms without an answer`) });
    }, millis);
    // The request in flight keeps the process alive as long as it matters; this bound alone must not.
    timer.unref();
    const callback = (result: ExportResult): void => {
      if (answered) return handlers.onLate();
      answered = true;
      clearTimeout(timer);
      resolve(handlers.onAnswer(result));
    };
    try {
      start(callback);
    } catch (error) {
      callback({ code: ExportResultCode.FAILED, error: error as Error });
    }
  });
}
