import { CliError } from './cli-error.js';
import { REPORT_DIMENSIONS, type ReportDimension } from './report.js';

/** Output formats of `costspan report`. */
export type ReportFormat = 'table' | 'json' | 'csv' | 'markdown';

/** Every {@link ReportFormat}. */
export const REPORT_FORMATS: readonly ReportFormat[] = ['table', 'json', 'csv', 'markdown'];

/** True when `year-month-day` is a day of the calendar (not `2026-02-30`). */
function isCalendarDay(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * Parses `--since`/`--until`: a date (`2026-03-01`, midnight UTC; for `until`,
 * the whole day is included), a month, or an ISO 8601 time (UTC when it names
 * no offset, never the machine's time zone).
 *
 * @throws CliError `usage` for anything else, and for a day that does not exist (`2026-02-30`)
 */
export function parseTimeBound(text: string, flag: '--since' | '--until' | '--as-of'): number {
  let time = Number.NaN;
  const day = /^(\d{4})-(\d{2})-(\d{2})(T.*)?$/.exec(text);
  if (day !== null && !isCalendarDay(Number(day[1]), Number(day[2]), Number(day[3]))) {
    time = Number.NaN;
  } else if (day !== null && day[4] === undefined) {
    time = Date.parse(`${text}T00:00:00Z`);
    if (flag === '--until') time += 86_400_000;
  } else if (/^\d{4}-\d{2}$/.test(text)) {
    const [year, month] = text.split('-').map(Number) as [number, number];
    if (month >= 1 && month <= 12) time = flag === '--until' ? Date.UTC(year, month, 1) : Date.UTC(year, month - 1, 1);
  } else if (day !== null) {
    // Date.parse reads a time without an offset in the local time zone: the help promises UTC.
    time = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`);
  }
  if (Number.isNaN(time)) {
    throw new CliError({
      code: 'usage',
      message: `${flag} must be a date (2026-03-01), a month (2026-03) or an ISO 8601 time; got ${JSON.stringify(text)}`,
    });
  }
  return time;
}

/**
 * Parses `--group-by model,day`.
 *
 * @throws CliError `usage` naming an unknown dimension
 */
export function parseDimensions(text: string): ReportDimension[] {
  const dimensions: ReportDimension[] = [];
  for (const part of text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')) {
    const name = part === 'principal' ? undefined : (part as ReportDimension);
    if (part === 'principal') {
      for (const principal of ['user', 'team', 'org', 'tag'] as const) if (!dimensions.includes(principal)) dimensions.push(principal);
      continue;
    }
    if (name === undefined || !REPORT_DIMENSIONS.includes(name)) {
      throw new CliError({
        code: 'usage',
        message: `--group-by: unknown dimension ${JSON.stringify(part)}; use ${REPORT_DIMENSIONS.join(', ')} or principal`,
      });
    }
    if (!dimensions.includes(name)) dimensions.push(name);
  }
  if (dimensions.length === 0) throw new CliError({ code: 'usage', message: '--group-by needs at least one dimension' });
  return dimensions;
}
