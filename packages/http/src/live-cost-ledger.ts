import { CostspanError, usdToPico, type PicoUsd } from '@costspan/core';
import { type CostEvent, type CostEventListener } from '@costspan/sdk';
import { parseEventTimestamp } from '@costspan/sdk/internal';

/** Totals of one group (provider, model, agent, principal) in a window. Exact pico-USD. */
export interface LedgerGroup {
  costPico: PicoUsd;
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

/** Totals of one window (a day or a month), with its breakdowns. */
export interface LedgerWindow extends LedgerGroup {
  byProvider: Map<string, LedgerGroup>;
  byModel: Map<string, LedgerGroup>;
  byAgent: Map<string, LedgerGroup>;
  /** By attribution target (`user:alice`, `team:search`, `org:acme`, `tag:env=prod`); cost only. */
  byPrincipal: Map<string, LedgerGroup>;
}

/** What {@link LiveCostLedger.snapshot} returns. */
export interface LedgerSnapshot {
  /** The current day in the ledger's time zone, `2026-03-04`. */
  day: string;
  /** The current month, `2026-03`. */
  month: string;
  timeZone: string;
  today: LedgerWindow;
  monthToDate: LedgerWindow;
  /** Month to date ÷ days elapsed (today counted whole) × days in the month, rounded half up to the pico-dollar. */
  projectedMonthPico: PicoUsd;
}

/** Options of {@link LiveCostLedger}. */
export interface LiveCostLedgerOptions {
  /** IANA time zone of the day and month windows. Default `UTC`. */
  timeZone?: string;
  /** Clock (epoch ms), for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * Keeps today's and this month's cost in memory, by provider, model, agent and principal, for the
 * live cost endpoint ({@link createCostEndpoint}). Register it as a listener of the
 * `CostSpanProcessor` (`setupCostspan({ listeners: [ledger] })`). A call counts on the day of its
 * event's timestamp in `timeZone`; days before last month are dropped, so memory stays bounded.
 * Figures are this process's only: with several workers, each serves its own.
 */
export class LiveCostLedger implements CostEventListener {
  readonly timeZone: string;
  private readonly now: () => number;
  private readonly days = new Map<string, LedgerWindow>();
  private readonly format: Intl.DateTimeFormat;

  constructor(options: LiveCostLedgerOptions = {}) {
    this.timeZone = options.timeZone ?? 'UTC';
    this.now = options.now ?? Date.now;
    try {
      this.format = new Intl.DateTimeFormat('en-CA', { timeZone: this.timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch (error) {
      throw new CostspanError({
        code: 'invalid_argument',
        message: `timeZone must be an IANA time zone; got ${String(options.timeZone)}`,
        field: 'timeZone',
        value: options.timeZone,
        cause: error,
      });
    }
  }

  onEvent(event: CostEvent): void {
    if (event.event_type !== 'llm.cost.token.recorded' && event.event_type !== 'llm.cost.attributed') return;
    const at = parseEventTimestamp(event.timestamp);
    const window = this.dayWindow(this.dayOf(Number.isFinite(at) ? at : this.now()));
    if (event.event_type === 'llm.cost.attributed') {
      const payload = (event as CostEvent<'llm.cost.attributed'>).payload;
      addTo(window.byPrincipal, payload.attribution_target, {
        costPico: usdToPico(payload.cost.total_cost_usd),
        calls: 0,
        inputTokens: 0,
        outputTokens: 0,
      });
      return;
    }
    const payload = (event as CostEvent<'llm.cost.token.recorded'>).payload;
    const call: LedgerGroup = {
      costPico: usdToPico(payload.cost.total_cost_usd),
      calls: 1,
      inputTokens: payload.token_usage.input_tokens,
      outputTokens: payload.token_usage.output_tokens,
    };
    addGroup(window, call);
    addTo(window.byProvider, payload.model.system, call);
    addTo(window.byModel, payload.model.name, call);
    addTo(window.byAgent, payload.agent_name ?? '(none)', call);
  }

  /** Today, month to date and the month's projection, as of now. */
  snapshot(): LedgerSnapshot {
    const day = this.dayOf(this.now());
    const month = day.slice(0, 7);
    this.prune(month);
    const monthToDate = emptyWindow();
    for (const [key, window] of this.days) if (key.startsWith(month) && key <= day) mergeWindow(monthToDate, window);
    const dayOfMonth = BigInt(Number(day.slice(8, 10)));
    const daysInMonth = BigInt(new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)), 0)).getUTCDate());
    const numerator = monthToDate.costPico * daysInMonth;
    const projectedMonthPico = numerator / dayOfMonth + ((numerator % dayOfMonth) * 2n >= dayOfMonth ? 1n : 0n);
    return { day, month, timeZone: this.timeZone, today: copyWindow(this.days.get(day)), monthToDate, projectedMonthPico };
  }

  /** Forgets everything. */
  reset(): void {
    this.days.clear();
  }

  private dayOf(epochMs: number): string {
    const parts = Object.fromEntries(this.format.formatToParts(new Date(epochMs)).map((part) => [part.type, part.value]));
    return `${parts.year}-${parts.month}-${parts.day}`;
  }

  private dayWindow(day: string): LedgerWindow {
    let window = this.days.get(day);
    if (window === undefined) {
      window = emptyWindow();
      this.days.set(day, window);
      if (this.days.size > 64) this.prune(this.dayOf(this.now()).slice(0, 7));
    }
    return window;
  }

  /** Drops days before the month preceding `month`. */
  private prune(month: string): void {
    const [year, monthNumber] = [Number(month.slice(0, 4)), Number(month.slice(5, 7))];
    const previous = monthNumber === 1 ? `${year - 1}-12` : `${year}-${String(monthNumber - 1).padStart(2, '0')}`;
    for (const key of this.days.keys()) if (key.slice(0, 7) < previous) this.days.delete(key);
  }
}

function emptyWindow(): LedgerWindow {
  return {
    costPico: 0n,
    calls: 0,
    inputTokens: 0,
    outputTokens: 0,
    byProvider: new Map(),
    byModel: new Map(),
    byAgent: new Map(),
    byPrincipal: new Map(),
  };
}

function copyWindow(window: LedgerWindow | undefined): LedgerWindow {
  const copy = emptyWindow();
  if (window !== undefined) mergeWindow(copy, window);
  return copy;
}

function mergeWindow(target: LedgerWindow, source: LedgerWindow): void {
  addGroup(target, source);
  for (const name of ['byProvider', 'byModel', 'byAgent', 'byPrincipal'] as const) {
    for (const [key, group] of source[name]) addTo(target[name], key, group);
  }
}

function addGroup(target: LedgerGroup, source: LedgerGroup): void {
  target.costPico += source.costPico;
  target.calls += source.calls;
  target.inputTokens += source.inputTokens;
  target.outputTokens += source.outputTokens;
}

function addTo(groups: Map<string, LedgerGroup>, key: string, source: LedgerGroup): void {
  let group = groups.get(key);
  if (group === undefined) {
    group = { costPico: 0n, calls: 0, inputTokens: 0, outputTokens: 0 };
    groups.set(key, group);
  }
  addGroup(group, source);
}
