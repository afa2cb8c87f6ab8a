import { describe, expect, it } from 'vitest';
import { CalendarWindow } from './calendar-window.js';

// Window boundaries in time zones other than UTC, worked out by hand from each zone's offset
// and its daylight-saving rule for 2026 (IANA tzdata). Each case names the last millisecond
// of one window and the first of the next.
const MS = 1;

interface Boundary {
  zone: string;
  why: string;
  /** First instant (UTC) of the new window. */
  at: number;
  before: { day: string; month: string };
  after: { day: string; month: string };
}

const BOUNDARIES: Boundary[] = [
  {
    zone: 'Europe/London',
    why: 'the day clocks go forward (29 March, 01:00 GMT -> 02:00 BST): that day ends at 23:00 UTC',
    at: Date.UTC(2026, 2, 29, 23),
    before: { day: '2026-03-29', month: '2026-03' },
    after: { day: '2026-03-30', month: '2026-03' },
  },
  {
    zone: 'Europe/London',
    why: 'the start of the DST day itself is still midnight GMT',
    at: Date.UTC(2026, 2, 29, 0),
    before: { day: '2026-03-28', month: '2026-03' },
    after: { day: '2026-03-29', month: '2026-03' },
  },
  {
    zone: 'Europe/London',
    why: 'the month after clocks go back (25 October): 1 November starts at 00:00 GMT',
    at: Date.UTC(2026, 10, 1, 0),
    before: { day: '2026-10-31', month: '2026-10' },
    after: { day: '2026-11-01', month: '2026-11' },
  },
  {
    zone: 'Australia/Sydney',
    why: 'southern autumn: 5 April (AEDT +11 -> AEST +10) starts at 13:00 UTC the day before',
    at: Date.UTC(2026, 3, 4, 13),
    before: { day: '2026-04-04', month: '2026-04' },
    after: { day: '2026-04-05', month: '2026-04' },
  },
  {
    zone: 'Australia/Sydney',
    why: 'and lasts 25 hours: 6 April starts at 14:00 UTC',
    at: Date.UTC(2026, 3, 5, 14),
    before: { day: '2026-04-05', month: '2026-04' },
    after: { day: '2026-04-06', month: '2026-04' },
  },
  {
    zone: 'Australia/Sydney',
    why: 'southern spring: 4 October (AEST +10 -> AEDT +11) lasts 23 hours, 5 October starts at 13:00 UTC',
    at: Date.UTC(2026, 9, 4, 13),
    before: { day: '2026-10-04', month: '2026-10' },
    after: { day: '2026-10-05', month: '2026-10' },
  },
  {
    zone: 'Australia/Sydney',
    why: 'April starts at 13:00 UTC on 31 March (still AEDT)',
    at: Date.UTC(2026, 2, 31, 13),
    before: { day: '2026-03-31', month: '2026-03' },
    after: { day: '2026-04-01', month: '2026-04' },
  },
  {
    zone: 'America/Santiago',
    why: 'clocks go forward at midnight (6 September, 00:00 -04 -> 01:00 -03): the day starts at 01:00 local, 04:00 UTC',
    at: Date.UTC(2026, 8, 6, 4),
    before: { day: '2026-09-05', month: '2026-09' },
    after: { day: '2026-09-06', month: '2026-09' },
  },
  {
    zone: 'America/Santiago',
    why: 'clocks go back at midnight (5 April, 00:00 -03 -> 23:00 -04 on the 4th): 5 April starts at 04:00 UTC, after the repeated hour',
    at: Date.UTC(2026, 3, 5, 4),
    before: { day: '2026-04-04', month: '2026-04' },
    after: { day: '2026-04-05', month: '2026-04' },
  },
  {
    zone: 'Asia/Kathmandu',
    why: 'a +05:45 zone: the year starts at 18:15 UTC on 31 December',
    at: Date.UTC(2025, 11, 31, 18, 15),
    before: { day: '2025-12-31', month: '2025-12' },
    after: { day: '2026-01-01', month: '2026-01' },
  },
  {
    zone: 'America/St_Johns',
    why: 'a -03:30 zone in summer time (-02:30): 1 July starts at 02:30 UTC',
    at: Date.UTC(2026, 6, 1, 2, 30),
    before: { day: '2026-06-30', month: '2026-06' },
    after: { day: '2026-07-01', month: '2026-07' },
  },
  {
    zone: 'Pacific/Honolulu',
    why: 'a -10:00 zone: 1 March starts at 10:00 UTC, after 28 February of a common year',
    at: Date.UTC(2026, 2, 1, 10),
    before: { day: '2026-02-28', month: '2026-02' },
    after: { day: '2026-03-01', month: '2026-03' },
  },
  {
    zone: 'Pacific/Honolulu',
    why: 'and a leap day keeps its own window (29 February 2028)',
    at: Date.UTC(2028, 1, 29, 10),
    before: { day: '2028-02-28', month: '2028-02' },
    after: { day: '2028-02-29', month: '2028-02' },
  },
];

describe('CalendarWindow at every daily and monthly boundary, in non-UTC zones', () => {
  it.each(BOUNDARIES)('$zone: $why', ({ zone, at, before, after }) => {
    const window = new CalendarWindow(zone);
    expect(window.at(at - MS)).toEqual(before);
    expect(window.at(at)).toEqual(after);
    expect(window.timeZone).toBe(zone);
  });

  it('a DST-shortened and a DST-lengthened day are still one window each', () => {
    const sydney = new CalendarWindow('Australia/Sydney');
    const hour = 3_600_000;
    // 5 April 2026 (25 h): every hour from 13:00 UTC on the 4th to 13:00 UTC on the 5th is the 5th.
    for (let offset = 0; offset < 25; offset += 1) expect(sydney.at(Date.UTC(2026, 3, 4, 13) + offset * hour).day).toBe('2026-04-05');
    expect(sydney.at(Date.UTC(2026, 3, 4, 13) + 25 * hour).day).toBe('2026-04-06');
    // 4 October 2026 (23 h).
    for (let offset = 0; offset < 23; offset += 1) expect(sydney.at(Date.UTC(2026, 9, 3, 14) + offset * hour).day).toBe('2026-10-04');
    expect(sydney.at(Date.UTC(2026, 9, 3, 14) + 23 * hour).day).toBe('2026-10-05');
  });

  it('gives the same instant different days in different zones', () => {
    const instant = Date.UTC(2026, 0, 1, 2); // 02:00 UTC on New Year's Day
    expect(new CalendarWindow('UTC').at(instant)).toEqual({ day: '2026-01-01', month: '2026-01' });
    expect(new CalendarWindow('America/Los_Angeles').at(instant)).toEqual({ day: '2025-12-31', month: '2025-12' });
    expect(new CalendarWindow('Asia/Tokyo').at(instant)).toEqual({ day: '2026-01-01', month: '2026-01' });
  });
});

describe('CalendarWindow refuses what is not a time zone name', () => {
  const message = 'timeZone must be an IANA time zone such as "UTC" or "Europe/Berlin"; got ';

  it('refuses a non-string even when Intl would read it as a zone', () => {
    const lookalike = { toString: () => 'UTC' };
    expect(() => new CalendarWindow(lookalike as never)).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field: 'timeZone', message: `${message}{}` }),
    );
  });

  it('refuses a blank name itself, before asking Intl (no cause attached)', () => {
    for (const blank of ['', '   ']) {
      let refused: unknown;
      try {
        new CalendarWindow(blank);
      } catch (error) {
        refused = error;
      }
      expect(refused).toEqual(
        expect.objectContaining({ code: 'invalid_argument', field: 'timeZone', message: `${message}${JSON.stringify(blank)}` }),
      );
      expect((refused as { cause?: unknown }).cause).toBeUndefined();
    }
  });
});
