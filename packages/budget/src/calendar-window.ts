import { invalidInput } from '@costspan/core';

/** Calendar day and month of an instant in one IANA time zone. */
export interface CalendarWindows {
  /** `YYYY-MM-DD`: the daily window. */
  day: string;
  /** `YYYY-MM`: the monthly window. */
  month: string;
}

/**
 * Computes window keys (`2026-03-04`, `2026-03`) of instants in a time zone,
 * with `Intl.DateTimeFormat`, so daily and monthly limits reset at local midnight
 * (DST included).
 */
export class CalendarWindow {
  /** The IANA time zone, e.g. `UTC`, `Europe/Berlin`. */
  readonly timeZone: string;
  private readonly formatter: Intl.DateTimeFormat;
  private readonly hourFormatter: Intl.DateTimeFormat;

  /** @throws CostspanError `invalid_argument` for a time zone `Intl` does not know */
  constructor(timeZone = 'UTC') {
    if (typeof timeZone !== 'string' || timeZone.trim() === '') {
      throw invalidInput('invalid_argument', 'timeZone', timeZone, 'an IANA time zone such as "UTC" or "Europe/Berlin"');
    }
    try {
      this.formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        calendar: 'gregory',
        numberingSystem: 'latn',
      });
    } catch (error) {
      const refused = invalidInput('invalid_argument', 'timeZone', timeZone, 'an IANA time zone such as "UTC" or "Europe/Berlin"');
      (refused as { cause?: unknown }).cause = error;
      throw refused;
    }
    this.timeZone = timeZone;
    this.hourFormatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
      calendar: 'gregory',
      numberingSystem: 'latn',
    });
  }

  /**
   * The clock hour that contains `epochMs`, with its UTC offset:
   * `2026-10-25T02+02:00`. The offset keeps apart the two local 02:00 hours of a
   * DST fall-back, and time zones whose offset is not whole hours get their own hours.
   */
  hour(epochMs: number): string {
    const parts: Record<string, string> = {};
    for (const part of this.hourFormatter.formatToParts(epochMs)) parts[part.type] = part.value;
    const offset = (parts.timeZoneName ?? 'GMT').replace('GMT', '') || '+00:00';
    return `${(parts.year ?? '').padStart(4, '0')}-${parts.month}-${parts.day}T${parts.hour}${offset}`;
  }

  /** The ISO week (Monday to Sunday, in this time zone) that contains `epochMs`: `2026-W01` … `2026-W53`. */
  week(epochMs: number): string {
    const [year, month, day] = this.at(epochMs).day.split('-').map(Number) as [number, number, number];
    const date = new Date(Date.UTC(year, month - 1, day));
    const weekday = date.getUTCDay() === 0 ? 7 : date.getUTCDay();
    // The ISO week belongs to the year of its Thursday.
    date.setUTCDate(date.getUTCDate() + 4 - weekday);
    const isoYear = date.getUTCFullYear();
    const week = Math.floor((date.getTime() - Date.UTC(isoYear, 0, 1)) / 86_400_000 / 7) + 1;
    return `${String(isoYear).padStart(4, '0')}-W${String(week).padStart(2, '0')}`;
  }

  /** The day and month that contain `epochMs` in this time zone. */
  at(epochMs: number): CalendarWindows {
    // Stryker disable StringLiteral: formatToParts always yields year, month and day, overwriting these
    let year = '';
    let month = '';
    let day = '';
    // Stryker restore StringLiteral
    for (const part of this.formatter.formatToParts(epochMs)) {
      if (part.type === 'year') year = part.value.padStart(4, '0');
      else if (part.type === 'month') month = part.value;
      else if (part.type === 'day') day = part.value;
    }
    return { day: `${year}-${month}-${day}`, month: `${year}-${month}` };
  }
}
