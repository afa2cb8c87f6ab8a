import type { BudgetRefusalWire, CostEvent } from '@costspan/sdk';
import { displayText } from './display-text.js';
import { wrapText } from './text-table.js';

/** Budget refusals by the limit that refused them. */
export interface RefusalGroup {
  /** `user_daily`, `per_request`, `circuit_breaker`, ... */
  limitType: string;
  /** `user:alice`, `global`, `session:<run>`, ... */
  scope: string;
  window: string;
  /** `usd` or `tokens`. */
  unit: string;
  /** The limit, in `unit` (a JSON number exact to the pico-dollar, as the SDK writes it). */
  limit: number;
  /** Steps this limit refused. */
  count: number;
  /** The first refusal seen, to show what was attempted against what was spent. */
  example: { agentRunId: string; step: string; current: number; attempted: number };
}

/**
 * What makes a report's totals incomplete: calls that could not be priced
 * (booked at $0), calls that reported no usage (no tokens, no cost) and budget
 * refusals. Printed as warnings by every format, never as a silent $0.
 */
export interface ReportWarnings {
  /** Calls with usage whose model had no price (token events with `pricing_status: "unpriced"`). */
  unpricedCalls: number;
  /** Unpriced models, most calls first; a model named only by a session event's `unpriced_models` has `calls: 0`. */
  unpricedModels: Array<{ model: string; calls: number }>;
  /** Calls that ran but reported no usage (session events' `usage_missing_call_count`). */
  usageMissingCalls: number;
  /**
   * Calls the runs' session events count (`call_count`) beyond the calls in the report: their
   * token events are not in the input (another file, outside --since/--until, or lost), so their
   * cost is not in the totals.
   */
  callsWithoutTokenEvent: number;
  /**
   * Token events whose `total_cost_usd` differs from the sum of their parts by more than the wire's
   * rounding (a foreign or faulty writer): the report sums the parts, a reader of the total gets another figure.
   */
  totalMismatchEvents: number;
  /** Steps refused by a budget (session events' `budget_refusals`). */
  budgetRefusals: number;
  /** Refusals grouped by the refusing limit, most first. */
  refusalsByLimit: RefusalGroup[];
  /**
   * Inputs whose gzip stream ends early (`ScanStats.truncatedInputs`: `-` for standard input): the
   * events before the cut are in the totals, those after it are missing.
   */
  truncatedInputs: string[];
}

const MAX_KEYS = 10_000;

/** Collects {@link ReportWarnings} from events, in memory bounded by distinct models and limits. */
export class WarningCollector {
  private unpricedCalls = 0;
  private usageMissingCalls = 0;
  private budgetRefusals = 0;
  private sessionCalls = 0;
  private totalMismatchEvents = 0;
  private readonly unpricedModels = new Map<string, number>();
  private readonly refusals = new Map<string, RefusalGroup>();
  private readonly truncatedInputs: string[] = [];

  /** A token event: counted when it could not be priced. */
  addToken(event: CostEvent<'llm.cost.token.recorded'>): void {
    this.addCall(event.payload.pricing_status !== 'unpriced', event.payload.model.name);
  }

  /** A call (a token event's `pricing_status` read as `priced`, and its model): counted when it could not be priced. */
  addCall(priced: boolean, model: string): void {
    if (priced) return;
    this.unpricedCalls += 1;
    if (this.unpricedModels.has(model) || this.unpricedModels.size < MAX_KEYS)
      this.unpricedModels.set(model, (this.unpricedModels.get(model) ?? 0) + 1);
  }

  /** A session event: its calls, calls without usage, unpriced model names and budget refusals. */
  addSession(event: CostEvent<'llm.cost.session.recorded'>): void {
    const payload = event.payload;
    this.addSessionCalls(payload.call_count);
    this.addRun(payload.usage_missing_call_count ?? 0, payload.unpriced_models, payload.budget_refusals);
  }

  /** A session event's parts: calls without usage, unpriced model names and budget refusals. */
  addRun(usageMissing: number, unpricedModels: readonly string[] | undefined, refusals: readonly BudgetRefusalWire[] | undefined): void {
    this.usageMissingCalls += usageMissing;
    for (const model of unpricedModels ?? []) {
      if (!this.unpricedModels.has(model) && this.unpricedModels.size < MAX_KEYS) this.unpricedModels.set(model, 0);
    }
    for (const refusal of refusals ?? []) this.addRefusal(refusal);
  }

  /** A token event whose `total_cost_usd` differs from the sum of its parts (`EventRecord.totalMismatch`). */
  addTotalMismatch(): void {
    this.totalMismatchEvents += 1;
  }

  /** An input cut short (its gzip stream ends early), warned about once. */
  addTruncatedInput(input: string): void {
    if (!this.truncatedInputs.includes(input)) this.truncatedInputs.push(input);
  }

  /** A session event's `call_count`: held against the calls the report counts (see {@link WarningCollector.result}). */
  addSessionCalls(calls: number): void {
    this.sessionCalls += calls;
  }

  private addRefusal(refusal: BudgetRefusalWire): void {
    this.budgetRefusals += 1;
    const key = JSON.stringify([refusal.limit_type, refusal.scope, refusal.window, refusal.unit, refusal.limit]);
    const group = this.refusals.get(key);
    if (group !== undefined) {
      group.count += 1;
      return;
    }
    if (this.refusals.size >= MAX_KEYS) return;
    this.refusals.set(key, {
      limitType: refusal.limit_type,
      scope: refusal.scope,
      window: refusal.window,
      unit: refusal.unit,
      limit: refusal.limit,
      count: 1,
      example: { agentRunId: refusal.agent_run_id, step: refusal.step, current: refusal.current, attempted: refusal.attempted },
    });
  }

  /** The warnings so far; `countedCalls`: the calls in the report's totals (token events and calls without usage). */
  result(countedCalls: number): ReportWarnings {
    const byCount = <T>(entries: T[], count: (entry: T) => number, key: (entry: T) => string): T[] =>
      entries.sort((left, right) => count(right) - count(left) || (key(left) < key(right) ? -1 : key(left) > key(right) ? 1 : 0));
    return {
      unpricedCalls: this.unpricedCalls,
      unpricedModels: byCount(
        [...this.unpricedModels].map(([model, calls]) => ({ model, calls })),
        (entry) => entry.calls,
        (entry) => entry.model,
      ),
      usageMissingCalls: this.usageMissingCalls,
      callsWithoutTokenEvent: Math.max(0, this.sessionCalls - countedCalls),
      totalMismatchEvents: this.totalMismatchEvents,
      budgetRefusals: this.budgetRefusals,
      refusalsByLimit: byCount(
        [...this.refusals.values()].map((group) => ({ ...group, example: { ...group.example } })),
        (group) => group.count,
        (group) => `${group.limitType}\u0000${group.scope}`,
      ),
      truncatedInputs: [...this.truncatedInputs],
    };
  }
}

/** True when a report has anything to warn about. */
export function hasWarnings(warnings: ReportWarnings): boolean {
  return (
    warnings.unpricedCalls > 0 ||
    warnings.unpricedModels.length > 0 ||
    warnings.usageMissingCalls > 0 ||
    warnings.callsWithoutTokenEvent > 0 ||
    warnings.totalMismatchEvents > 0 ||
    warnings.budgetRefusals > 0 ||
    warnings.truncatedInputs.length > 0
  );
}

/** A limit or amount in its unit: `$0.01` or `1,000 tokens`. */
export function formatLimitAmount(amount: number, unit: string): string {
  if (unit === 'usd') return `$${String(amount)}`;
  return `${new Intl.NumberFormat('en-US', { maximumFractionDigits: 12 }).format(amount)} ${unit}`;
}

/**
 * The warnings as lines a person reads, each saying what happened and what to do;
 * empty when there is nothing to warn about. Shared by the table, Markdown and HTML formats.
 */
export function warningLines(warnings: ReportWarnings, options: { maxItems?: number } = {}): string[] {
  const maxItems = options.maxItems ?? 5;
  const lines: string[] = [];
  // First: a cut-short input makes every figure below it low.
  for (const input of warnings.truncatedInputs) {
    const name = input === '-' ? 'standard input' : displayText(input);
    lines.push(`${name} is cut short (its gzip stream ends early): the events after the cut are missing from these totals.`);
  }
  const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;
  if (warnings.unpricedCalls > 0 || warnings.unpricedModels.length > 0) {
    const models = warnings.unpricedModels
      .slice(0, maxItems)
      .map((entry) => (entry.calls > 0 ? `${entry.model} (${plural(entry.calls, 'call')})` : entry.model));
    const more = warnings.unpricedModels.length > maxItems ? `, and ${warnings.unpricedModels.length - maxItems} more` : '';
    lines.push(
      warnings.unpricedCalls === 0
        ? // Only session events named them (e.g. --since cut the runs' token events): no "0 calls".
          `Runs here had calls that could not be priced, whose token events are not in this input (another file, or outside --since/--until): ${models.join(', ')}${more}. ` +
            'Give these models a price (customPrices) or check the model names.'
        : `${plural(warnings.unpricedCalls, 'call')} could not be priced and ${warnings.unpricedCalls === 1 ? 'is' : 'are'} counted at $0: ${models.join(', ')}${more}. ` +
            'Totals are low: give these models a price (customPrices) or check the model names.',
    );
  }
  if (warnings.usageMissingCalls > 0) {
    lines.push(
      `${plural(warnings.usageMissingCalls, 'call')} reported no usage, so no tokens or cost are counted for ${warnings.usageMissingCalls === 1 ? 'it' : 'them'}. ` +
        'Totals are low: ask for usage in responses (e.g. stream_options.include_usage / includeStreamUsage).',
    );
  }
  if (warnings.callsWithoutTokenEvent > 0) {
    const count = warnings.callsWithoutTokenEvent;
    lines.push(
      `The runs' session events count ${plural(count, 'more call')} than this input has token events for: ${count === 1 ? 'its' : 'their'} cost is not in these totals. ` +
        'Their token events are in another file, outside --since/--until, or were lost: check the exporter (stats().dropped / failed).',
    );
  }
  if (warnings.totalMismatchEvents > 0) {
    const count = warnings.totalMismatchEvents;
    const one = count === 1;
    lines.push(
      `${plural(count, 'token event')} ${one ? 'carries' : 'carry'} a total_cost_usd that differs from the sum of ${one ? 'its' : 'their'} parts; the report sums the parts. ` +
        `A query summing total_cost_usd (DuckDB, jq) gets another figure: check the program that wrote ${one ? 'it' : 'them'}.`,
    );
  }
  if (warnings.budgetRefusals > 0) {
    const limits = warnings.refusalsByLimit.slice(0, maxItems).map((group) => {
      const example = group.example;
      return (
        `${group.limitType} limit ${formatLimitAmount(group.limit, group.unit)} for ${group.scope} (${group.window}) refused ${plural(group.count, 'step')}, ` +
        `e.g. step ${example.step} of run ${example.agentRunId}: ${formatLimitAmount(example.current, group.unit)} spent, ${formatLimitAmount(example.attempted, group.unit)} attempted`
      );
    });
    const more = warnings.refusalsByLimit.length > maxItems ? `; and ${warnings.refusalsByLimit.length - maxItems} more limits` : '';
    lines.push(`${plural(warnings.budgetRefusals, 'budget refusal')}: ${limits.join('; ')}${more}.`);
  }
  return lines;
}

/**
 * The warnings as the table format prints them: `WARNING: ...` lines wrapped to `width` terminal
 * columns, continuations indented; empty when there is nothing to warn about. Shared by every text
 * output that reads the same inputs (the report's table, the what-if report, `costspan run`).
 */
export function warningTableLines(warnings: ReportWarnings, width: number): string[] {
  return warningLines(warnings).flatMap((line) => wrapText(`WARNING: ${line}`, width, '  '));
}

/**
 * The warnings as the Markdown format prints them: a blank line, then a `> **Warning:** ...`
 * paragraph each, escaped for a table-free Markdown line; empty when there is nothing to warn about.
 */
export function warningMarkdownLines(warnings: ReportWarnings): string[] {
  // Backslashes first, so the escapes added for `|` are not themselves escaped.
  const escape = (text: string): string =>
    text
      .replace(/\\/g, '\\\\')
      .replace(/\|/g, '\\|')
      .replace(/[\r\n]+/g, ' ');
  return warningLines(warnings).flatMap((line) => ['', `> **Warning:** ${escape(line)}`]);
}
