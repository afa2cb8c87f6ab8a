import type { Principal } from '@costspan/sdk';
import type { BudgetCounterLimitType } from './budget-exceeded-error.js';
import type { NormalizedAmount, NormalizedLimits, ScopedEntry, ScopeKind, Window } from './budget-limits.js';
import type { BudgetStoreCounter } from './budget-store.js';
import type { CalendarWindow } from './calendar-window.js';

// Which counters a call counts against: every configured scope of the principal (and model,
// agent, session), each in its current window, with per-scope overrides from the store applied.

/** @internal A limit that applies to one call. */
export interface ApplicableLimit {
  limitType: BudgetCounterLimitType;
  scope: string;
  window: string;
  amount: NormalizedAmount;
  counter: BudgetStoreCounter;
}

/** @internal What else a call is known by, besides its principal. */
export interface LimitContext {
  /** Model of the call (for `model` and `userModel` limits). */
  model?: string | undefined;
  /** Agent of the call (for `agent` limits). */
  agent?: string | undefined;
  /** Overrides read from the store, by scope (`user:alice`): they replace the defaults' windows of the same name. */
  overrides?: ReadonlyMap<string, readonly ScopedEntry[]>;
}

/** @internal One scope a call belongs to: `user:alice`, with its kind and the id used in counter keys. */
export interface CallScope {
  kind: Exclude<ScopeKind, 'global'>;
  scope: string;
  keyId: string;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** A counter outlives its window by at least the window's length. */
const WINDOW_TTL_MS: Record<Exclude<Window, 'rolling'>, number> = {
  hourly: 2 * HOUR_MS,
  daily: 2 * DAY_MS,
  weekly: 8 * DAY_MS,
  monthly: 33 * DAY_MS,
  total: 0,
};

/** @internal Every scope of a call, in a fixed order (user, team, org, tags, model, agent, user per model). */
export function callScopes(principal: Principal, context: LimitContext = {}): CallScope[] {
  const scopes: CallScope[] = [];
  const add = (kind: CallScope['kind'], scope: string, keyId: string): void => {
    scopes.push({ kind, scope, keyId });
  };
  if (principal.userId !== undefined) add('user', `user:${principal.userId}`, encodeURIComponent(principal.userId));
  if (principal.teamId !== undefined) add('team', `team:${principal.teamId}`, encodeURIComponent(principal.teamId));
  if (principal.orgId !== undefined) add('org', `org:${principal.orgId}`, encodeURIComponent(principal.orgId));
  for (const [key, value] of Object.entries(principal.tags ?? {})) add('tag', `tag:${key}=${value}`, encodeURIComponent(`${key}=${value}`));
  if (context.model !== undefined) add('model', `model:${context.model}`, encodeURIComponent(context.model));
  if (context.agent !== undefined) add('agent', `agent:${context.agent}`, encodeURIComponent(context.agent));
  if (principal.userId !== undefined && context.model !== undefined) {
    add(
      'userModel',
      `user:${principal.userId}|model:${context.model}`,
      `${encodeURIComponent(principal.userId)}|${encodeURIComponent(context.model)}`,
    );
  }
  return scopes;
}

/** @internal The limit type of a scope kind's window: `daily` (global), `user_daily`, `user_model_rolling`, … */
export function limitTypeOf(kind: ScopeKind, window: Window): BudgetCounterLimitType {
  if (kind === 'global') return window;
  return `${kind === 'userModel' ? 'user_model' : kind}_${window}`;
}

/** @internal A sliding window's label: `rolling:60m`, `rolling:90s`, `rolling:1500ms`. */
export function rollingLabel(windowMs: number): string {
  if (windowMs % 60_000 === 0) return `rolling:${windowMs / 60_000}m`;
  if (windowMs % 1000 === 0) return `rolling:${windowMs / 1000}s`;
  return `rolling:${windowMs}ms`;
}

/** @internal The limits that apply to a principal (and session, model, agent) at `now`. */
export function applicableLimits(
  limits: NormalizedLimits,
  principal: Principal,
  rootRunId: string | undefined,
  now: number,
  calendar: CalendarWindow,
  ttl: { sessionMs: number; minimumMs: number },
  context: LimitContext = {},
): ApplicableLimit[] {
  const applicable: ApplicableLimit[] = [];
  let day: string | undefined;
  const label = (window: Window, amount: NormalizedAmount): string => {
    if (window === 'total') return 'total';
    if (window === 'rolling') return rollingLabel(amount.rolling!.windowMs);
    if (window === 'hourly') return calendar.hour(now);
    if (window === 'weekly') return calendar.week(now);
    day ??= calendar.at(now).day;
    return window === 'daily' ? day : day.slice(0, 7);
  };
  const add = (limitType: BudgetCounterLimitType, scope: string, window: string, key: string, amount: NormalizedAmount, ttlMs: number) => {
    const counter: BudgetStoreCounter = { key, ttlMs: ttlMs === 0 ? 0 : Math.max(ttlMs, ttl.minimumMs) };
    if (amount.limitPico !== undefined) counter.limitPico = amount.limitPico;
    if (amount.limitTokens !== undefined) counter.limitTokens = amount.limitTokens;
    if (amount.alertsPico.length > 0) counter.alertsPico = amount.alertsPico;
    if (amount.alertsTokens.length > 0) counter.alertsTokens = amount.alertsTokens;
    if (amount.rolling !== undefined) counter.rolling = { ...amount.rolling };
    applicable.push({ limitType, scope, window, amount, counter });
  };
  const ttlOf = (window: Window, amount: NormalizedAmount): number =>
    window === 'rolling' ? amount.rolling!.windowMs + amount.rolling!.bucketMs : WINDOW_TTL_MS[window];
  /** The key's window part: calendar windows by label, sliding ones by length (the key stays as time goes). */
  const keyWindow = (window: Window, amount: NormalizedAmount): string =>
    window === 'rolling' ? String(amount.rolling!.windowMs) : label(window, amount);

  if (limits.session !== undefined && rootRunId !== undefined) {
    add('session', `session:${rootRunId}`, 'session', `session:${encodeURIComponent(rootRunId)}`, limits.session, ttl.sessionMs);
  }
  for (const { window, amount } of limits.scoped.filter((entry) => entry.kind === 'global')) {
    const key = window === 'total' ? 'total' : `${window}:${keyWindow(window, amount)}`;
    add(window, 'global', label(window, amount), key, amount, ttlOf(window, amount));
  }
  const defaults = new Map<ScopeKind, ScopedEntry[]>();
  for (const entry of limits.scoped) {
    if (entry.kind !== 'global') defaults.set(entry.kind, [...(defaults.get(entry.kind) ?? []), entry]);
  }
  for (const scope of callScopes(principal, context)) {
    const override = context.overrides?.get(scope.scope);
    for (const { window, amount } of effectiveEntries(defaults.get(scope.kind) ?? [], override)) {
      const limitType = limitTypeOf(scope.kind, window);
      const key = window === 'total' ? `${limitType}:${scope.keyId}` : `${limitType}:${scope.keyId}:${keyWindow(window, amount)}`;
      add(limitType, scope.scope, label(window, amount), key, amount, ttlOf(window, amount));
    }
  }
  return applicable;
}

/** Defaults with the override's windows replacing those of the same name (windows it does not name stay). */
function effectiveEntries(defaults: readonly ScopedEntry[], override: readonly ScopedEntry[] | undefined): ScopedEntry[] {
  if (override === undefined) return [...defaults];
  const named = new Set(override.map((entry) => entry.window));
  return [...defaults.filter((entry) => !named.has(entry.window)), ...override].sort(
    (a, b) => WINDOW_ORDER.indexOf(a.window) - WINDOW_ORDER.indexOf(b.window),
  );
}

const WINDOW_ORDER: readonly Window[] = ['hourly', 'daily', 'weekly', 'monthly', 'total', 'rolling'];
