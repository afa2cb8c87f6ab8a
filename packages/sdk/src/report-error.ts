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
