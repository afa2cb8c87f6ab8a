import type { DiagLogger } from '@opentelemetry/api';
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
