import { diag } from '@opentelemetry/api';

const logger = diag.createComponentLogger({ namespace: '@costspan/budget' });

/** Default error sink: the OpenTelemetry `diag` logger of this package. */
export function reportBudgetError(error: unknown, context: string): void {
  const message = error instanceof Error ? error.message : String(error);
  logger.error(`${context}: ${message}`);
}
