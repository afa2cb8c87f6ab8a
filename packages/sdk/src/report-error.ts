import { globalErrorHandler } from '@opentelemetry/core';

/**
 * Hands an error from span processing or export to OpenTelemetry's global error handler
 * (by default: `diag.error`). Never throws: telemetry must not fail the host application.
 */
export function reportError(error: unknown): void {
  try {
    globalErrorHandler(error as Error);
  } catch {
    // The error funnel itself failed; nothing further can be reported.
  }
}

const told = new WeakSet<Error>();

/**
 * Marks an error whose cause a person was already told through `notice` (e.g. a JSONL file
 * that cannot be opened), so the events it fails are counted without a second notice.
 */
export function markTold<Failure extends Error>(error: Failure): Failure {
  told.add(error);
  return error;
}

/** True when {@link markTold} marked this error. */
export function wasTold(error: unknown): boolean {
  return error instanceof Error && told.has(error);
}
