import { writeSync } from 'node:fs';
import { diag } from '@opentelemetry/api';

/** One thing a person should hear about once: lost events, an unpriced model, a refused budget. */
export interface CostspanNotice {
  /**
   * What happened, as a stable key: `events_lost`, `jsonl_open_failed:<path>`,
   * `unpriced_model:<model>`, `usage_missing:<provider>`, `budget_refused`, ...
   * A notice is given once per cause per process.
   */
  cause: string;
  /** One line for a person: what happened and what to do. Never quotes prompt text. */
  message: string;
}

/** Receives notices instead of standard error. */
export type NoticeHandler = (notice: CostspanNotice) => void;

const OTEL_API_KEY = Symbol.for('opentelemetry.js.api.1');
/** Causes can carry user input (a model name): bounded, so a stream of new models cannot grow memory. */
const MAX_CAUSES = 1000;
const given = new Set<string>();
let handler: NoticeHandler | undefined;
let quiet: boolean | undefined;

/**
 * Sends costspan's notices (one line per cause) to `handler` instead of the default. By
 * default a notice goes to the installed OpenTelemetry diag logger (`diag.setLogger`) as a
 * warning, or, when none is installed, as one line on standard error, so a lost or wrong
 * number is never silent. `COSTSPAN_QUIET=1` silences standard error (diag and a handler
 * still receive notices). Pass `undefined` to restore the default.
 */
export function setNoticeHandler(next: NoticeHandler | undefined): void {
  handler = next;
}

/**
 * Tells a person, once per `cause` for the life of the process: to the handler set with
 * {@link setNoticeHandler}, else the installed diag logger, else standard error. Never throws.
 *
 * @returns true when this call gave the notice, false when the cause was already told
 */
export function notice(cause: string, message: string): boolean {
  if (given.has(cause) || given.size > MAX_CAUSES) return false;
  given.add(cause);
  if (given.size > MAX_CAUSES) {
    cause = 'notices_suppressed';
    message = `more than ${MAX_CAUSES} distinct notices; further ones are not shown (stats() still counts every loss)`;
  }
  try {
    if (handler !== undefined) {
      handler({ cause, message });
    } else if (diagLoggerInstalled()) {
      diag.warn(`costspan: ${message}`);
    } else if (!isQuiet()) {
      // A synchronous write to fd 2: no stream, so no 'error' event can reach the host when stderr is closed.
      writeSync(2, `costspan: ${message}\n`);
    }
  } catch {
    // A closed stderr or a throwing handler must not reach the host.
  }
  return true;
}

/** Forgets which causes were told, so tests can observe each notice again. @internal */
export function resetNotices(): void {
  given.clear();
  quiet = undefined;
}

function diagLoggerInstalled(): boolean {
  // `diag.setLogger` registers the logger in the API's global slot; `diag.disable()` removes it.
  const api = (globalThis as Record<symbol, { diag?: unknown } | undefined>)[OTEL_API_KEY];
  return api?.diag !== undefined;
}

function isQuiet(): boolean {
  quiet ??= /^(1|true|yes)$/i.test(process.env.COSTSPAN_QUIET ?? '');
  return quiet;
}
