import { invalidInput, picoToUsd, scalePico, usdToPico } from '@costspan/core';
import type { BudgetLimitType, BudgetUnit } from './budget-exceeded-error.js';
import type { BudgetStoreCounter } from './budget-store.js';
import type { CalendarWindow } from './calendar-window.js';
import type { Principal } from '@costspan/sdk';

/**
 * A soft limit: an alert when spending in the window reaches it. Absolute
 * (`{ usd: 0.8 }`, `{ tokens: 100_000 }`) or a fraction of the hard limit of
 * the same entry (`{ fraction: 0.8 }`, applied to its `usd` and `tokens` limits).
 */
export type BudgetAlertThreshold = { readonly usd: number | string } | { readonly tokens: number } | { readonly fraction: number };

/**
 * One limit: a hard cap in USD and/or tokens (a call that would pass it is
 * refused), plus soft alert thresholds. An entry with only `alertAt` never refuses.
 */
export interface BudgetAmount {
  /** Hard limit in USD (number or decimal string, > 0). */
  readonly usd?: number | string;
  /** Hard limit in tokens (positive integer). */
  readonly tokens?: number;
  /** Alert thresholds, each fired once per crossing per window. */
  readonly alertAt?: readonly BudgetAlertThreshold[];
}

/** Calendar windows of one scope; each resets at midnight / the 1st in the guard's time zone. */
export interface BudgetWindowLimits {
  /** Per calendar day. */
  readonly daily?: BudgetAmount;
  /** Per calendar month. */
  readonly monthly?: BudgetAmount;
  /** Forever (never resets). */
  readonly total?: BudgetAmount;
}

/**
 * Every limit a {@link BudgetGuard} enforces; all optional.
 *
 * @example
 * ```ts
 * const limits: BudgetLimits = {
 *   perRequest: { usd: 0.5 },
 *   session: { usd: 2 },
 *   user: { daily: { usd: 1, alertAt: [{ fraction: 0.8 }] } },
 *   team: { monthly: { usd: 500 } },
 *   global: { daily: { usd: 50 }, total: { tokens: 1e9 } },
 * };
 * ```
 */
export interface BudgetLimits {
  /** Largest estimate a single call may reserve. */
  readonly perRequest?: { readonly usd?: number | string; readonly tokens?: number };
  /** Per agent session: the root run (`rootRunId`) and everything under it. */
  readonly session?: BudgetAmount;
  /** Per `principal.userId`. */
  readonly user?: BudgetWindowLimits;
  /** Per `principal.teamId`. */
  readonly team?: BudgetWindowLimits;
  /** Per `principal.orgId`. */
  readonly org?: BudgetWindowLimits;
  /** Per tag pair (`env=production`): every tag of the principal has its own budget. */
  readonly tag?: BudgetWindowLimits;
  /** Everything the guard sees. */
  readonly global?: BudgetWindowLimits;
}

/** @internal A validated limit entry. */
export interface NormalizedAmount {
  limitPico?: bigint;
  limitTokens?: bigint;
  alertsPico: bigint[];
  alertsTokens: bigint[];
  /** The configured fraction behind each alert, when it was one. */
  fractionsPico: (number | undefined)[];
  fractionsTokens: (number | undefined)[];
}

type Window = 'daily' | 'monthly' | 'total';
type ScopeKind = 'user' | 'team' | 'org' | 'tag';

/** @internal */
export interface NormalizedLimits {
  perRequestPico?: bigint;
  perRequestTokens?: bigint;
  session?: NormalizedAmount;
  scoped: { kind: ScopeKind | 'global'; window: Window; amount: NormalizedAmount }[];
}

/** @internal A limit that applies to one call. */
export interface ApplicableLimit {
  limitType: Exclude<BudgetLimitType, 'per_request' | 'circuit_breaker'>;
  scope: string;
  window: string;
  amount: NormalizedAmount;
  counter: BudgetStoreCounter;
}

const DAY_MS = 86_400_000;
/** A counter outlives its window by at least the window's length. */
const WINDOW_TTL_MS: Record<Window, number> = { daily: 2 * DAY_MS, monthly: 33 * DAY_MS, total: 0 };

/** @internal Validates limits, naming the field and value of the first bad one. */
export function normalizeLimits(limits: BudgetLimits | undefined): NormalizedLimits {
  const normalized: NormalizedLimits = { scoped: [] };
  if (limits === undefined) return normalized;
  if (typeof limits !== 'object' || limits === null) {
    throw invalidInput('invalid_argument', 'limits', limits, 'an object of limits');
  }
  if (limits.perRequest !== undefined) {
    const amount = normalizeAmount({ usd: limits.perRequest.usd, tokens: limits.perRequest.tokens }, 'limits.perRequest');
    if (amount.limitPico !== undefined) normalized.perRequestPico = amount.limitPico;
    if (amount.limitTokens !== undefined) normalized.perRequestTokens = amount.limitTokens;
  }
  if (limits.session !== undefined) normalized.session = normalizeAmount(limits.session, 'limits.session');
  for (const kind of ['global', 'user', 'team', 'org', 'tag'] as const) {
    const windows = limits[kind];
    if (windows === undefined) continue;
    for (const window of ['daily', 'monthly', 'total'] as const) {
      const amount = windows[window];
      if (amount !== undefined) normalized.scoped.push({ kind, window, amount: normalizeAmount(amount, `limits.${kind}.${window}`) });
    }
  }
  return normalized;
}

function normalizeAmount(amount: BudgetAmount, field: string): NormalizedAmount {
  const result: NormalizedAmount = { alertsPico: [], alertsTokens: [], fractionsPico: [], fractionsTokens: [] };
  if (amount.usd !== undefined) result.limitPico = positivePico(amount.usd, `${field}.usd`);
  if (amount.tokens !== undefined) result.limitTokens = positiveTokens(amount.tokens, `${field}.tokens`);
  for (const [index, threshold] of (amount.alertAt ?? []).entries()) {
    const at = `${field}.alertAt[${index}]`;
    if ('fraction' in threshold) {
      const fraction = threshold.fraction;
      if (!Number.isFinite(fraction) || fraction <= 0 || fraction > 1) {
        throw invalidInput('invalid_argument', `${at}.fraction`, fraction, 'a number in (0, 1]');
      }
      if (result.limitPico === undefined && result.limitTokens === undefined) {
        throw invalidInput('invalid_argument', `${at}.fraction`, fraction, 'used beside a usd or tokens limit');
      }
      if (result.limitPico !== undefined) {
        // Stryker disable next-line StringLiteral: the field name is unreachable, scalePico cannot refuse a fraction already checked to be in (0, 1]
        result.alertsPico.push(max1(scalePico(result.limitPico, fraction, `${at}.fraction`)));
        result.fractionsPico.push(fraction);
      }
      if (result.limitTokens !== undefined) {
        result.alertsTokens.push(max1(ceilFraction(result.limitTokens, fraction)));
        result.fractionsTokens.push(fraction);
      }
    } else if ('usd' in threshold) {
      result.alertsPico.push(positivePico(threshold.usd, `${at}.usd`));
      result.fractionsPico.push(undefined);
    } else if ('tokens' in threshold) {
      result.alertsTokens.push(positiveTokens(threshold.tokens, `${at}.tokens`));
      result.fractionsTokens.push(undefined);
    } else {
      throw invalidInput('invalid_argument', at, threshold, '{ usd }, { tokens } or { fraction }');
    }
  }
  return result;
}

function max1(value: bigint): bigint {
  return value > 0n ? value : 1n;
}

function ceilFraction(limit: bigint, fraction: number): bigint {
  const scaled = scalePico(limit * 1_000_000_000_000n, fraction);
  return (scaled + 999_999_999_999n) / 1_000_000_000_000n;
}

/** @internal */
export function positivePico(value: number | string, field: string): bigint {
  const pico = usdToPico(value, field);
  if (pico <= 0n) throw invalidInput('invalid_argument', field, value, 'a positive amount of USD');
  return pico;
}

/** @internal */
export function positiveTokens(value: number, field: string): bigint {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalidInput('invalid_tokens', field, value, 'a positive integer number of tokens');
  }
  return BigInt(value);
}

/** @internal The limits that apply to a principal (and session) at `now`. */
export function applicableLimits(
  limits: NormalizedLimits,
  principal: Principal,
  rootRunId: string | undefined,
  now: number,
  calendar: CalendarWindow,
  ttl: { sessionMs: number; minimumMs: number },
): ApplicableLimit[] {
  const applicable: ApplicableLimit[] = [];
  const windows = calendar.at(now);
  const windowKey: Record<Window, string> = { daily: windows.day, monthly: windows.month, total: 'total' };
  const add = (
    limitType: ApplicableLimit['limitType'],
    scope: string,
    window: string,
    key: string,
    amount: NormalizedAmount,
    ttlMs: number,
  ): void => {
    const counter: BudgetStoreCounter = { key, ttlMs: ttlMs === 0 ? 0 : Math.max(ttlMs, ttl.minimumMs) };
    if (amount.limitPico !== undefined) counter.limitPico = amount.limitPico;
    if (amount.limitTokens !== undefined) counter.limitTokens = amount.limitTokens;
    if (amount.alertsPico.length > 0) counter.alertsPico = amount.alertsPico;
    if (amount.alertsTokens.length > 0) counter.alertsTokens = amount.alertsTokens;
    applicable.push({ limitType, scope, window, amount, counter });
  };
  if (limits.session !== undefined && rootRunId !== undefined) {
    add('session', `session:${rootRunId}`, 'session', `session:${encodeURIComponent(rootRunId)}`, limits.session, ttl.sessionMs);
  }
  const tagPairs = Object.entries(principal.tags ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { kind, window, amount } of limits.scoped) {
    if (kind === 'global') {
      add(
        window,
        'global',
        windowKey[window],
        window === 'total' ? 'total' : `${window}:${windowKey[window]}`,
        amount,
        WINDOW_TTL_MS[window],
      );
      continue;
    }
    const ids = kind === 'user' ? [principal.userId] : kind === 'team' ? [principal.teamId] : kind === 'org' ? [principal.orgId] : tagPairs;
    for (const id of ids) {
      if (id === undefined) continue;
      const limitType = `${kind}_${window}` as ApplicableLimit['limitType'];
      const key =
        window === 'total' ? `${limitType}:${encodeURIComponent(id)}` : `${limitType}:${encodeURIComponent(id)}:${windowKey[window]}`;
      add(limitType, `${kind}:${id}`, windowKey[window], key, amount, WINDOW_TTL_MS[window]);
    }
  }
  return applicable;
}

/** @internal Display helper: the unit's amounts as a number. */
export function toDisplay(unit: BudgetUnit, amount: bigint): number {
  return unit === 'usd' ? picoToUsd(amount) : Number(amount);
}
