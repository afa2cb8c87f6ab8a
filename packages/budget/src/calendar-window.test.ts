import { describe, expect, it } from 'vitest';
import { CalendarWindow } from './calendar-window.js';

describe('CalendarWindow', () => {
  it('computes day and month in UTC by default', () => {
    const window = new CalendarWindow();
    expect(window.at(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toEqual({ day: '2026-12-31', month: '2026-12' });
    expect(window.at(Date.UTC(2027, 0, 1))).toEqual({ day: '2027-01-01', month: '2027-01' });
  });

  it('follows the time zone, daylight saving included', () => {
    const berlin = new CalendarWindow('Europe/Berlin');
    // 2026-03-29: clocks go from 02:00 to 03:00 (UTC+1 → UTC+2); midnight is 23:00 UTC the day before.
    expect(berlin.at(Date.UTC(2026, 2, 28, 22, 59, 59)).day).toBe('2026-03-28');
    expect(berlin.at(Date.UTC(2026, 2, 28, 23, 0, 0)).day).toBe('2026-03-29');
    // In summer, midnight is 22:00 UTC.
    expect(berlin.at(Date.UTC(2026, 5, 30, 22, 0, 0))).toEqual({ day: '2026-07-01', month: '2026-07' });
    const kiritimati = new CalendarWindow('Pacific/Kiritimati'); // UTC+14
    expect(kiritimati.at(Date.UTC(2026, 0, 31, 10, 0, 0)).month).toBe('2026-02');
  });

  it('refuses unknown time zones, blank ones and non-strings, keeping what Intl said', () => {
    expect(() => new CalendarWindow('Not/AZone')).toThrow(expect.objectContaining({ code: 'invalid_argument', field: 'timeZone' }));
    expect(() => new CalendarWindow('')).toThrow(expect.objectContaining({ field: 'timeZone' }));
    expect(() => new CalendarWindow('   ')).toThrow(expect.objectContaining({ code: 'invalid_argument', field: 'timeZone', value: '   ' }));
    expect(() => new CalendarWindow(42 as never)).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'timeZone', value: 42 }),
    );
    let refused: unknown;
    try {
      new CalendarWindow('Not/AZone');
    } catch (error) {
      refused = error;
    }
    expect((refused as { cause?: unknown }).cause).toBeInstanceOf(RangeError);
    expect((refused as Error).message).toContain('an IANA time zone such as "UTC" or "Europe/Berlin"');
    // Blank and non-string zones are refused before Intl sees them (no Intl error as cause).
    for (const zone of ['', '   ', 42]) {
      let early: unknown;
      try {
        new CalendarWindow(zone as string);
      } catch (error) {
        early = error;
      }
      expect(early).toMatchObject({ field: 'timeZone', message: expect.stringContaining('an IANA time zone such as "UTC"') });
      expect((early as { cause?: unknown }).cause).toBeUndefined();
    }
  });

  it('keeps the time zone it was given (UTC by default)', () => {
    expect(new CalendarWindow().timeZone).toBe('UTC');
    expect(new CalendarWindow('America/New_York').timeZone).toBe('America/New_York');
  });

  it('pads years before 1000 to four digits, and months and days to two', () => {
    const early = new Date(0);
    early.setUTCFullYear(999, 0, 2);
    expect(new CalendarWindow().at(early.getTime())).toEqual({ day: '0999-01-02', month: '0999-01' });
  });

  it('New York daily windows on DST change days: 23 hours in March, 25 in November', () => {
    const newYork = new CalendarWindow('America/New_York');
    // 2026-03-08: clocks go from 02:00 EST to 03:00 EDT. The day starts 05:00 UTC and ends 04:00 UTC.
    expect(newYork.at(Date.UTC(2026, 2, 8, 4, 59, 59, 999)).day).toBe('2026-03-07');
    expect(newYork.at(Date.UTC(2026, 2, 8, 5)).day).toBe('2026-03-08');
    expect(newYork.at(Date.UTC(2026, 2, 9, 3, 59, 59, 999)).day).toBe('2026-03-08');
    expect(newYork.at(Date.UTC(2026, 2, 9, 4)).day).toBe('2026-03-09');
    // 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST. The day starts 04:00 UTC and ends 05:00 UTC.
    expect(newYork.at(Date.UTC(2026, 10, 1, 3, 59, 59, 999)).day).toBe('2026-10-31');
    expect(newYork.at(Date.UTC(2026, 10, 1, 4))).toEqual({ day: '2026-11-01', month: '2026-11' });
    expect(newYork.at(Date.UTC(2026, 10, 2, 4, 59, 59, 999)).day).toBe('2026-11-01');
    expect(newYork.at(Date.UTC(2026, 10, 2, 5)).day).toBe('2026-11-02');
  });

  it('monthly windows start at local midnight of the 1st, on both sides of a DST change', () => {
    const newYork = new CalendarWindow('America/New_York');
    expect(newYork.at(Date.UTC(2026, 2, 1, 4, 59, 59, 999))).toEqual({ day: '2026-02-28', month: '2026-02' }); // EST: UTC-5
    expect(newYork.at(Date.UTC(2026, 2, 1, 5))).toEqual({ day: '2026-03-01', month: '2026-03' });
    expect(newYork.at(Date.UTC(2026, 3, 1, 3, 59, 59, 999))).toEqual({ day: '2026-03-31', month: '2026-03' }); // EDT: UTC-4
    expect(newYork.at(Date.UTC(2026, 3, 1, 4))).toEqual({ day: '2026-04-01', month: '2026-04' });
    const sydney = new CalendarWindow('Australia/Sydney'); // southern DST ends 2026-04-05
    expect(sydney.at(Date.UTC(2026, 3, 30, 13, 59, 59, 999)).month).toBe('2026-04');
    expect(sydney.at(Date.UTC(2026, 3, 30, 14))).toEqual({ day: '2026-05-01', month: '2026-05' }); // AEST: UTC+10
    // New Year in a zone ahead of UTC: the year changes with the month.
    expect(new CalendarWindow('Asia/Tokyo').at(Date.UTC(2026, 11, 31, 15))).toEqual({ day: '2027-01-01', month: '2027-01' });
  });
});
