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
