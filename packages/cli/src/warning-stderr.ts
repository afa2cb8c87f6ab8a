import type { CliIo } from './cli-input.js';
import { warningLines, type ReportWarnings } from './report-warnings.js';

/**
 * Writes a report's warnings to standard error, one `costspan: WARNING: ...` line each, in the
 * words of the table format ({@link warningLines}). For formats whose standard output must stay
 * machine-readable (CSV), so a piped report is never silently incomplete.
 */
export function writeWarningsToStderr(warnings: ReportWarnings, io: Pick<CliIo, 'stderr'>): void {
  for (const line of warningLines(warnings)) io.stderr.write(`costspan: WARNING: ${line}\n`);
}
