const BRAND: symbol = Symbol.for('costspan.error');

/**
 * Every machine-readable reason a costspan API can refuse input or fail.
 * Match on `error.code`, never on the message.
 */
export type CostspanErrorCode =
  | 'invalid_argument'
  | 'invalid_tokens'
  | 'invalid_cost'
  | 'invalid_name'
  | 'invalid_source'
  | 'invalid_price'
  | 'invalid_event'
  | 'unknown_event_type'
  | 'no_active_run'
  | 'unknown_model'
  | 'budget_exceeded'
  | 'budget_unavailable'
  | 'export_failed'
  | 'shutdown';

/** Options of {@link CostspanError}. */
export interface CostspanErrorOptions {
  /** Machine-readable reason. */
  code: CostspanErrorCode;
  /** Human-readable message; it names the field and the value when there is one. */
  message: string;
  /** The input field that was refused, e.g. `usage.input`. */
  field?: string;
  /** The refused value (never a secret). */
  value?: unknown;
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * Base class of every error thrown by costspan packages.
 *
 * Use {@link CostspanError.isInstance} rather than `instanceof`: it also
 * recognises errors from another copy of the package in the same process.
 *
 * @example
 * ```ts
 * try {
 *   step.setTokenUsage({ input: -1, output: 0 });
 * } catch (error) {
 *   if (CostspanError.isInstance(error)) console.error(error.code, error.field);
 * }
 * ```
 */
export class CostspanError extends Error {
  /** Machine-readable reason. */
  readonly code: CostspanErrorCode;
  /** The input field that was refused, when there is one. */
  readonly field: string | undefined;
  /** The refused value, when there is one. */
  readonly value: unknown;

  constructor(options: CostspanErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CostspanError';
    this.code = options.code;
    this.field = options.field;
    this.value = options.value;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True when `error` is a costspan error, from any copy of the package. */
  static isInstance(error: unknown): error is CostspanError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Renders a refused value for an error message: short, unambiguous, never throws. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) {
    return String(value);
  }
  try {
    const json = JSON.stringify(value);
    return json === undefined ? typeof value : json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return typeof value;
  }
}

/** Builds a {@link CostspanError} whose message names `field` and `value`. */
export function invalidInput(code: CostspanErrorCode, field: string, value: unknown, expectation: string): CostspanError {
  return new CostspanError({
    code,
    field,
    value,
    message: `${field} must be ${expectation}; got ${describeValue(value)}`,
  });
}
