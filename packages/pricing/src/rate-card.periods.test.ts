import { describe, expect, it } from 'vitest';
import type { PricedCall } from './price-source.js';
import {
  buildTier,
  isValidTimestamp,
  parseTimeOfDay,
  priceResolved,
  rate,
  ratesOf,
  requestKey,
  scalePeriods,
  scaleRates,
  selectBand,
  selectPeriod,
  utcDay,
} from './rate-card.js';
import { MARCH_4, perMillion, period, pico, rates, resolved } from './__fixtures__/rate-card-fixtures.js';

describe('bands and periods', () => {
  const base = rates('1', '2');
  const long = rates('2', '4');
  const longer = rates('3', '6');
  const banded = period(base, {
    bands: [
      { aboveInputTokens: 1000, rates: long },
      { aboveInputTokens: 5000, rates: longer },
    ],
  });

  it('switches band strictly above each threshold', () => {
    expect(selectBand(banded, 0)).toBe(0);
    expect(selectBand(banded, 1000)).toBe(0);
    expect(selectBand(banded, 1001)).toBe(1);
    expect(selectBand(banded, 5000)).toBe(1);
    expect(selectBand(banded, 5001)).toBe(2);
    expect(ratesOf(banded, 0)).toBe(base);
    expect(ratesOf(banded, 1)).toBe(long);
    expect(ratesOf(banded, 2)).toBe(longer);
  });

  it('picks the last period in force, from its start instant on', () => {
    const start = Date.UTC(2026, 0, 1);
    const model = resolved([period(rates('1', '1')), period(rates('2', '2'), { startMs: start, startDate: '2026-01-01' })]);
    expect(selectPeriod(model, start - 1)).toBe(0);
    expect(selectPeriod(model, start)).toBe(1);
    expect(selectPeriod(model, start + 1)).toBe(1);
  });

  it('falls back to the first period for the table, to none for custom prices', () => {
    const start = Date.UTC(2026, 0, 1);
    const dated = [period(rates('1', '1'), { startMs: start }), period(rates('2', '2'), { startMs: start + 1000 })];
    expect(selectPeriod(resolved(dated, 'table'), start - 1)).toBe(0);
    expect(selectPeriod(resolved(dated, 'custom'), start - 1)).toBe(-1);
    expect(priceResolved(resolved(dated, 'custom'), { input: 1, output: 1 }, start - 1, undefined)).toBeUndefined();
  });

  it('applies time-of-day windows, including ones that wrap past midnight', () => {
    const day = Date.UTC(2026, 2, 4);
    const at = (hours: number, minutes = 0, ms = 0): number => day + (hours * 60 + minutes) * 60_000 + ms;
    const office = period(rates('5', '5'), { timeOfDay: { startSecond: 8 * 3600, endSecond: 17 * 3600 } });
    const night = period(rates('7', '7'), { timeOfDay: { startSecond: 22 * 3600, endSecond: 6 * 3600 } });
    const model = resolved([period(rates('1', '1')), office, night], 'table');
    expect(selectPeriod(model, at(7, 59, 59_999))).toBe(0);
    expect(selectPeriod(model, at(8))).toBe(1);
    expect(selectPeriod(model, at(16, 59, 59_999))).toBe(1);
    expect(selectPeriod(model, at(17))).toBe(0);
    expect(selectPeriod(model, at(21, 59, 59_999))).toBe(0);
    expect(selectPeriod(model, at(22))).toBe(2);
    expect(selectPeriod(model, at(23, 30))).toBe(2);
    expect(selectPeriod(model, at(0))).toBe(2);
    expect(selectPeriod(model, at(5, 59, 59_999))).toBe(2);
    expect(selectPeriod(model, at(6))).toBe(0);
    // Before 1970 the time of day is still counted from UTC midnight.
    expect(selectPeriod(model, Date.UTC(1969, 6, 20, 23))).toBe(2);
    expect(selectPeriod(model, Date.UTC(1969, 6, 20, 9))).toBe(1);
  });
});

describe('parseTimeOfDay', () => {
  it('reads times in UTC and with offsets as seconds after UTC midnight', () => {
    expect(parseTimeOfDay('00:30:00Z')).toBe(1800);
    expect(parseTimeOfDay('16:30:00Z')).toBe(59_400);
    expect(parseTimeOfDay('23:59:59Z')).toBe(86_399);
    expect(parseTimeOfDay('08:00:00+08:00')).toBe(0);
    expect(parseTimeOfDay('08:30:00+05:30')).toBe(10_800);
    expect(parseTimeOfDay('23:00:00-02:00')).toBe(3600);
    expect(parseTimeOfDay('01:00:00+02:00')).toBe(82_800);
    expect(parseTimeOfDay('00:00:01.5Z')).toBe(1.5);
    expect(parseTimeOfDay('12:34:56Z')).toBe(45_296);
  });

  it.each([
    '24:00:00Z',
    '00:60:00Z',
    '00:00:60Z',
    '00:00:00+24:00',
    '00:00:00+00:60',
    '0:00:00Z',
    '00:00:00',
    '00:00Z',
    'x00:00:00Z',
    '00:00:00Zx',
  ])('refuses %s', (text) => {
    expect(parseTimeOfDay(text)).toBeUndefined();
  });
  it('accepts the largest valid parts', () => {
    expect(parseTimeOfDay('23:59:59+23:59')).toBe(86_399 - (23 * 3600 + 59 * 60));
  });
});

describe('timestamps', () => {
  it('names the UTC day of an instant, across day changes back and forth', () => {
    expect(utcDay(Date.UTC(2026, 2, 4, 23, 59, 59, 999))).toBe('2026-03-04');
    expect(utcDay(Date.UTC(2026, 2, 5))).toBe('2026-03-05');
    expect(utcDay(Date.UTC(2026, 2, 4))).toBe('2026-03-04');
    expect(utcDay(Date.UTC(1969, 11, 31, 12))).toBe('1969-12-31');
  });

  it('accepts what Date can represent and nothing else', () => {
    expect(isValidTimestamp(8.64e15)).toBe(true);
    expect(isValidTimestamp(-8.64e15)).toBe(true);
    expect(isValidTimestamp(8.64e15 + 1)).toBe(false);
    expect(isValidTimestamp(-8.64e15 - 1)).toBe(false);
    expect(isValidTimestamp(Number.NaN)).toBe(false);
    expect(isValidTimestamp(Number.POSITIVE_INFINITY)).toBe(false);
    expect(isValidTimestamp('1')).toBe(false);
    expect(isValidTimestamp(0)).toBe(true);
  });
});

describe('scaling', () => {
  it('scales every rate, rounding half up per million, and leaves absent rates absent', () => {
    const scaled = scaleRates(rates('2.5', '10', { cacheRead: '0.0000015', reasoning: '3' }), 0.5);
    expect(scaled.input).toEqual(perMillion('1.25'));
    expect(scaled.output).toEqual(perMillion('5'));
    // 1,500,000 pico x 0.5 = 750,000 pico per million.
    expect(scaled.cacheRead).toEqual(rate(750_000n));
    expect(scaled.reasoning).toEqual(perMillion('1.5'));
    expect(scaled.cacheWrite).toBeUndefined();
    expect(scaled.cacheWrite1h).toBeUndefined();
    const all = scaleRates(rates('1', '1', { cacheRead: '1', cacheWrite: '2', cacheWrite1h: '4', reasoning: '8' }), '0.25');
    expect([all.cacheRead, all.cacheWrite, all.cacheWrite1h, all.reasoning]).toEqual([
      perMillion('0.25'),
      perMillion('0.5'),
      perMillion('1'),
      perMillion('2'),
    ]);
  });

  it('scales the bands of each period and records the multiplier', () => {
    const [scaled] = scalePeriods(
      [period(rates('2', '4'), { bands: [{ aboveInputTokens: 1000, rates: rates('4', '8') }], startDate: '2026-01-01' })],
      0.5,
    );
    expect(scaled?.multiplier).toBe(0.5);
    expect(scaled?.startDate).toBe('2026-01-01');
    expect(scaled?.base.input).toEqual(perMillion('1'));
    expect(scaled?.bands).toEqual([{ aboveInputTokens: 1000, rates: scaleRates(rates('4', '8'), 0.5) }]);
    expect(scaled?.bands[0]?.rates.output).toEqual(perMillion('4'));
  });
});

describe('buildTier', () => {
  it('snapshots every rate that exists, the threshold of a band and a multiplier other than 1', () => {
    const model = resolved([]);
    const full = rates('2', '8', { cacheRead: '0.5', cacheWrite: '2.5', cacheWrite1h: '4', reasoning: '10' });
    const banded = period(rates('1', '1'), { startDate: '2025-06-01', bands: [{ aboveInputTokens: 200_000, rates: full }] });
    const tier = buildTier(model, banded, 1, full, '2026-03-04', 0.5);
    expect(tier).toStrictEqual({
      system: 'acme',
      model: 'acme-1',
      input_per_million_usd: 2,
      output_per_million_usd: 8,
      effective_date: '2025-06-01',
      cached_input_per_million_usd: 0.5,
      cache_write_per_million_usd: 2.5,
      cache_write_1h_per_million_usd: 4,
      reasoning_per_million_usd: 10,
      tier_threshold_tokens: 200_000,
      data_source: 'custom',
      multiplier: 0.5,
    });
    expect(Object.isFrozen(tier)).toBe(true);
    expect(buildTier(model, period(rates('1', '3')), 0, rates('1', '3'), '2026-03-04', 1)).toStrictEqual({
      system: 'acme',
      model: 'acme-1',
      input_per_million_usd: 1,
      output_per_million_usd: 3,
      effective_date: '2026-03-04',
      data_source: 'custom',
    });
  });
});

describe('requestKey', () => {
  it('checks the model and reads the provider', () => {
    expect(requestKey({ model: 'gpt-4o', provider: 'openai', usage: { input: 0, output: 0 }, timestamp: 0 })).toEqual({
      model: 'gpt-4o',
      provider: 'openai',
      providerKey: 'openai',
    });
    expect(requestKey({ model: 'gpt-4o', provider: '', usage: { input: 0, output: 0 }, timestamp: 0 })).toEqual({
      model: 'gpt-4o',
      provider: undefined,
      providerKey: '',
    });
    expect(requestKey({ model: 'gpt-4o', usage: { input: 0, output: 0 }, timestamp: 0 })).toEqual({
      model: 'gpt-4o',
      provider: undefined,
      providerKey: '',
    });
    expect(requestKey(null as never)).toMatchObject({ status: 'unpriced', code: 'invalid_request', reason: 'request must be an object' });
    expect(requestKey({ model: ' ', usage: { input: 0, output: 0 }, timestamp: 0 })).toMatchObject({
      code: 'invalid_request',
      reason: 'model must be a non-empty string; got  ',
    });
    expect(requestKey({ model: 5 as unknown as string, usage: { input: 0, output: 0 }, timestamp: 0 })).toMatchObject({
      reason: 'model must be a non-empty string; got 5',
    });
  });
});

describe('priceResolved', () => {
  it('refuses a timestamp Date cannot hold', () => {
    const model = resolved([period(rates('1', '1'))]);
    expect(priceResolved(model, { input: 1, output: 1 }, Number.NaN, undefined)).toEqual({
      status: 'unpriced',
      code: 'invalid_request',
      reason: 'timestamp must be epoch milliseconds; got NaN',
    });
  });

  it('prices at the band for the call size and snapshots the tier once per period, band and day', () => {
    const model = resolved([period(rates('1', '2'), { bands: [{ aboveInputTokens: 1000, rates: rates('2', '4') }] })]);
    const small = priceResolved(model, { input: 1000, output: 10 }, MARCH_4, undefined) as PricedCall;
    const large = priceResolved(model, { input: 1001, output: 10 }, MARCH_4, 1) as PricedCall;
    // 1000 x $1 + 10 x $2 per M; 1001 x $2 + 10 x $4 per M.
    expect(small.cost).toEqual({ input: pico('0.001'), output: pico('0.00002'), reasoning: 0n, cachedDiscount: 0n });
    expect(large.cost).toEqual({ input: pico('0.002002'), output: pico('0.00004'), reasoning: 0n, cachedDiscount: 0n });
    expect(small.pricingDate).toBe('2026-03-04');
    expect(small.tier.tier_threshold_tokens).toBeUndefined();
    expect(large.tier.tier_threshold_tokens).toBe(1000);
    expect((priceResolved(model, { input: 5, output: 0 }, MARCH_4 + 1000, '1') as PricedCall).tier).toBe(small.tier);
    const nextDay = priceResolved(model, { input: 5, output: 0 }, MARCH_4 + 86_400_000, undefined) as PricedCall;
    expect(nextDay.tier.effective_date).toBe('2026-03-05');
    expect(nextDay.tier).not.toBe(small.tier);
  });

  it('keeps tiers of different periods apart', () => {
    const start = Date.UTC(2026, 0, 1);
    const model = resolved([period(rates('1', '1')), period(rates('3', '3'), { startMs: start, startDate: '2026-01-01' })], 'table');
    const old = priceResolved(model, { input: 1, output: 0 }, start - 86_400_000, undefined) as PricedCall;
    const current = priceResolved(model, { input: 1, output: 0 }, start - 86_400_000 + 1, undefined) as PricedCall;
    expect(old.tier).toBe(current.tier);
    const later = priceResolved(model, { input: 1, output: 0 }, start, undefined) as PricedCall;
    expect(later.tier.input_per_million_usd).toBe(3);
  });

  it('applies a per-request multiplier on top of the configured one', () => {
    const configured = scalePeriods([period(rates('2', '8'))], 0.5);
    const model = resolved(configured);
    const batch = priceResolved(model, { input: 1000, output: 1000 }, MARCH_4, 0.5) as PricedCall;
    // $2 x 0.5 x 0.5 = $0.50/M input, $8 x 0.25 = $2/M output: 1000 tokens each.
    expect(batch.cost).toEqual({ input: pico('0.0005'), output: pico('0.002'), reasoning: 0n, cachedDiscount: 0n });
    expect(batch.tier.multiplier).toBe(0.25);
    expect(batch.tier.input_per_million_usd).toBe(0.5);
    const plain = priceResolved(model, { input: 1000, output: 1000 }, MARCH_4, undefined) as PricedCall;
    expect(plain.tier.multiplier).toBe(0.5);
    expect(priceResolved(model, { input: 1, output: 1 }, MARCH_4, -1)).toEqual({
      status: 'unpriced',
      code: 'invalid_request',
      reason: 'multiplier must be a finite, non-negative number; got -1',
    });
  });
});

describe('rate-card edge cases', () => {
  it('never applies a zero-length time-of-day window', () => {
    const empty = period(rates('9', '9'), { timeOfDay: { startSecond: 3600, endSecond: 3600 } });
    const model = resolved([period(rates('1', '1')), empty], 'table');
    expect(selectPeriod(model, Date.UTC(2026, 2, 4, 1))).toBe(0);
    expect(selectPeriod(model, Date.UTC(2026, 2, 4, 13))).toBe(0);
  });

  it('reads fractional seconds of several digits', () => {
    expect(parseTimeOfDay('00:00:01.25Z')).toBe(1.25);
  });

  it('refuses a request that is a string', () => {
    expect(requestKey('gpt-4o' as never)).toMatchObject({ code: 'invalid_request', reason: 'request must be an object' });
  });

  it('treats a multiplier of 1 like none: the shared tier snapshot', () => {
    const model = resolved([period(rates('1', '2'))]);
    const none = priceResolved(model, { input: 1, output: 1 }, MARCH_4, undefined) as PricedCall;
    expect((priceResolved(model, { input: 1, output: 1 }, MARCH_4, 1) as PricedCall).tier).toBe(none.tier);
  });
});
