import { costOf, type Group } from './report-group.js';
import type { MonthToDate } from './report.js';
import { ratioPico } from './wire-pico.js';

/**
 * Epoch ms of a canonical event timestamp, as the SDK's `parseEventTimestamp` reads it
 * (a test holds the two equal): whole seconds by `Date.parse`, then the microseconds.
 */
export function eventTimeMs(timestamp: string): number {
  return Date.parse(`${timestamp.slice(0, 19)}Z`) + Number(timestamp.slice(20, 26)) / 1000;
}

/** Month-to-date spend of the month of `asOfMs` (UTC) from the report's days, and its linear projection. */
export function monthToDate(days: ReadonlyMap<string, Group>, asOfMs: number | undefined): MonthToDate | undefined {
  if (asOfMs === undefined || !Number.isFinite(asOfMs)) return undefined;
  const asOf = new Date(asOfMs);
  const monthStart = Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth(), 1);
  const monthEnd = Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth() + 1, 1);
  const month = asOf.toISOString().slice(0, 7);
  const asOfDay = asOf.toISOString().slice(0, 10);
  let cost = 0n;
  for (const [day, group] of days) {
    if (day.startsWith(month) && day <= asOfDay) cost += costOf(group.totals.costTotals());
  }
  const elapsedMs = Math.round(asOfMs - monthStart);
  const dayMs = 86_400_000;
  return {
    month,
    asOf: asOf.toISOString(),
    cost,
    daysElapsed: Math.round((elapsedMs / dayMs) * 100) / 100,
    daysInMonth: Math.round((monthEnd - monthStart) / dayMs),
    projected: elapsedMs <= 0 ? null : ratioPico(cost, BigInt(monthEnd - monthStart), BigInt(elapsedMs)),
  };
}
