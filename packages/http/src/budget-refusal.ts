import { CostspanError, formatPico } from '@costspan/core';

/** Fields of a budget refusal (`@costspan/budget`'s `BudgetExceededError`) read structurally. */
interface RefusalFields {
  limitType?: unknown;
  scope?: unknown;
  window?: unknown;
  unit?: unknown;
  limitExact?: unknown;
  currentExact?: unknown;
  attemptedExact?: unknown;
  remainingExact?: unknown;
}

/** The HTTP answer to a refused budget: status, headers and a JSON body. */
export interface BudgetRefusalResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** How a budget refusal is answered. */
export interface BudgetRefusalOptions {
  /** Status of the refusal. Default 429 (Too Many Requests); 402 (Payment Required) is the other common choice. */
  status?: number;
  /** Builds the JSON body (default: {@link budgetRefusalBody}). Never given prompt text. */
  body?: (error: CostspanError) => unknown;
}

/** True when `error` is a budget refusal (`CostspanError` with code `budget_exceeded`), from any copy of costspan. */
export function isBudgetRefusal(error: unknown): error is CostspanError {
  return CostspanError.isInstance(error) && error.code === 'budget_exceeded';
}

/**
 * The default body of a refusal: `{ error: { code, message, limit_type, scope, window, unit,
 * limit, current, attempted, remaining } }`, amounts as exact decimal strings (USD, or tokens
 * when `unit` is `tokens`).
 */
export function budgetRefusalBody(error: CostspanError): Record<string, unknown> {
  const fields = error as unknown as RefusalFields;
  const unit = typeof fields.unit === 'string' ? fields.unit : 'usd';
  const amount = (value: unknown): string | undefined =>
    typeof value === 'bigint' ? (unit === 'tokens' ? value.toString() : formatPico(value)) : undefined;
  const detail: Record<string, unknown> = { code: 'budget_exceeded', message: 'The budget for this request is used up.' };
  if (typeof fields.limitType === 'string') detail.limit_type = fields.limitType;
  if (typeof fields.scope === 'string') detail.scope = fields.scope;
  if (typeof fields.window === 'string') detail.window = fields.window;
  detail.unit = unit;
  for (const [name, value] of [
    ['limit', fields.limitExact],
    ['current', fields.currentExact],
    ['attempted', fields.attemptedExact],
    ['remaining', fields.remainingExact],
  ] as const) {
    const text = amount(value);
    if (text !== undefined) detail[name] = text;
  }
  return { error: detail };
}

/** Validates {@link BudgetRefusalOptions}; throws a `CostspanError` naming the field. */
export function resolveRefusal(options: BudgetRefusalOptions | undefined, field: string): Required<BudgetRefusalOptions> {
  // Only an absent status is the default: null is bad input, said as such.
  const status: unknown = options?.status === undefined ? 429 : options.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
    throw new CostspanError({
      code: 'invalid_argument',
      message: `${field}.status must be an HTTP error status (400-599); got ${String(status)}`,
      field: `${field}.status`,
      value: status,
    });
  }
  const body = options?.body ?? budgetRefusalBody;
  if (typeof body !== 'function') {
    throw new CostspanError({ code: 'invalid_argument', message: `${field}.body must be a function`, field: `${field}.body` });
  }
  return { status, body };
}

/** The response to send for a refusal; a throwing `body` function falls back to the default body. */
export function budgetRefusalResponse(error: CostspanError, options: Required<BudgetRefusalOptions>): BudgetRefusalResponse {
  let body: unknown;
  try {
    body = options.body(error);
  } catch {
    body = budgetRefusalBody(error);
  }
  return {
    status: options.status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)),
  };
}
