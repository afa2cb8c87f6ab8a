import { invalidInput, picoToUsd, scalePico, usdToPico } from '@costspan/core';
import type { BudgetUnit } from './budget-exceeded-error.js';

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
  readonly usd?: number | string | undefined;
  /** Hard limit in tokens (positive integer). */
  readonly tokens?: number | undefined;
  /** Alert thresholds, each fired once per crossing per window. */
  readonly alertAt?: readonly BudgetAlertThreshold[] | undefined;
}

/** A sliding window: the last `windowMs` (e.g. 60 minutes), not a calendar period. */
export interface BudgetRollingAmount extends BudgetAmount {
  /** Length of the window (ms), e.g. `3_600_000` for the last 60 minutes. */
  readonly windowMs: number;
  /**
   * Step of the slide (ms): spend is kept in buckets this long, and a booking
   * leaves the window at most one bucket late. Default `windowMs / 60`, at least 1000.
   */
  readonly bucketMs?: number;
}

/** Windows of one scope; calendar ones reset on the hour / at midnight / on Monday / on the 1st in the guard's time zone. */
export interface BudgetWindowLimits {
  /** Per clock hour (in the time zone: an hour repeated by a DST change is a window of its own). */
  readonly hourly?: BudgetAmount;
  /** Per calendar day. */
  readonly daily?: BudgetAmount;
  /** Per ISO week (Monday to Sunday; weeks `2026-W01` … `2026-W53`). */
  readonly weekly?: BudgetAmount;
  /** Per calendar month. */
  readonly monthly?: BudgetAmount;
  /** Forever (never resets). */
  readonly total?: BudgetAmount;
  /** Sliding: the last `windowMs`. */
  readonly rolling?: BudgetRollingAmount;
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
  /**
   * Largest estimate a single call may reserve: `usd`, total `tokens`, and
   * `outputTokens`, a cap on the output (max tokens) a call asks for.
   */
  readonly perRequest?: { readonly usd?: number | string; readonly tokens?: number; readonly outputTokens?: number };
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
  /** Per model (each model its own budget; the reserve names the `model`). */
  readonly model?: BudgetWindowLimits;
  /** Per agent (each `agentName` its own budget). */
  readonly agent?: BudgetWindowLimits;
  /** Per user per model (`user:alice|model:gpt-4o`): both `userId` and `model` must be known. */
  readonly userModel?: BudgetWindowLimits;
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
  /** A sliding window's length and step (ms). */
  rolling?: { windowMs: number; bucketMs: number };
}

/** @internal A window of a scope. */
export type Window = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'total' | 'rolling';
/** @internal A scope kind, as written in `limits`. */
export type ScopeKind = 'global' | 'user' | 'team' | 'org' | 'tag' | 'model' | 'agent' | 'userModel';

/** @internal In a fixed order: keys, errors and tests depend on it. */
export const WINDOWS: readonly Window[] = ['hourly', 'daily', 'weekly', 'monthly', 'total', 'rolling'];
/** @internal */
export const SCOPE_KINDS: readonly ScopeKind[] = ['global', 'user', 'team', 'org', 'tag', 'model', 'agent', 'userModel'];

/** @internal One validated entry of a scope. */
export interface ScopedEntry {
  kind: ScopeKind;
  window: Window;
  amount: NormalizedAmount;
}

/** @internal */
export interface NormalizedLimits {
  perRequestPico?: bigint;
  perRequestTokens?: bigint;
  perRequestOutputTokens?: bigint;
  session?: NormalizedAmount;
  scoped: ScopedEntry[];
}

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
    const output = limits.perRequest.outputTokens;
    if (output !== undefined) normalized.perRequestOutputTokens = positiveTokens(output, 'limits.perRequest.outputTokens');
  }
  if (limits.session !== undefined) normalized.session = normalizeAmount(limits.session, 'limits.session');
  for (const kind of SCOPE_KINDS) {
    const windows = limits[kind];
    if (windows === undefined) continue;
    normalized.scoped.push(...normalizeWindows(kind, windows, `limits.${kind}`));
  }
  return normalized;
}

/** @internal The entries of one scope's windows (`limits.user`, or a `setLimit` override), validated. */
export function normalizeWindows(kind: ScopeKind, windows: BudgetWindowLimits, field: string): ScopedEntry[] {
  if (typeof windows !== 'object' || windows === null) {
    throw invalidInput('invalid_argument', field, windows, 'an object of windows ({ daily: { usd: 5 } }, …)');
  }
  for (const name of Object.keys(windows)) {
    if (!(WINDOWS as readonly string[]).includes(name)) {
      throw invalidInput('invalid_argument', `${field}.${name}`, name, `one of the windows ${WINDOWS.join(', ')}`);
    }
  }
  const entries: ScopedEntry[] = [];
  for (const window of WINDOWS) {
    const amount = windows[window];
    if (amount === undefined) continue;
    if (typeof amount !== 'object' || amount === null) {
      throw invalidInput('invalid_argument', `${field}.${window}`, amount, 'an object such as { usd: 5 }');
    }
    const normalized = normalizeAmount(amount, `${field}.${window}`);
    if (window === 'rolling') normalized.rolling = rollingOf(amount as BudgetRollingAmount, `${field}.rolling`);
    entries.push({ kind, window, amount: normalized });
  }
  return entries;
}

function rollingOf(amount: BudgetRollingAmount, field: string): { windowMs: number; bucketMs: number } {
  const windowMs = amount.windowMs;
  if (!Number.isSafeInteger(windowMs) || windowMs < 1000) {
    throw invalidInput('invalid_argument', `${field}.windowMs`, windowMs, 'a whole number of milliseconds ≥ 1000');
  }
  const bucketMs = amount.bucketMs ?? Math.max(1000, Math.floor(windowMs / 60));
  if (!Number.isSafeInteger(bucketMs) || bucketMs < 1 || bucketMs > windowMs) {
    throw invalidInput('invalid_argument', `${field}.bucketMs`, bucketMs, 'a whole number of milliseconds in [1, windowMs]');
  }
  return { windowMs, bucketMs };
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

/** @internal Display helper: the unit's amounts as a number. */
export function toDisplay(unit: BudgetUnit, amount: bigint): number {
  return unit === 'usd' ? picoToUsd(amount) : Number(amount);
}

export { applicableLimits, type ApplicableLimit } from './applicable-limits.js';
