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

  it('refuses unknown time zones', () => {
    expect(() => new CalendarWindow('Not/AZone')).toThrow(expect.objectContaining({ code: 'invalid_argument', field: 'timeZone' }));
    expect(() => new CalendarWindow('')).toThrow(expect.objectContaining({ field: 'timeZone' }));
  });
});
