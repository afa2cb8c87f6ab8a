const BRAND: symbol = Symbol.for('costspan.cli.error');

/** Machine-readable reasons the CLI stops. Each maps to an exit code ({@link exitCodeOf}). */
export type CliErrorCode = 'usage' | 'input_not_found' | 'input_error' | 'run_not_found' | 'missing_key' | 'output_error';

/** Options of {@link CliError}. */
export interface CliErrorOptions {
  code: CliErrorCode;
  message: string;
  cause?: unknown;
}

/**
 * An error the CLI reports as one line on standard error and an exit code.
 * Use {@link CliError.isInstance}, which also recognises errors from another copy of the package.
 */
export class CliError extends Error {
  /** Machine-readable reason. */
  readonly code: CliErrorCode;

  constructor(options: CliErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = options.code;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True when `error` is a {@link CliError}, from any copy of the package. */
  static isInstance(error: unknown): error is CliError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
  }
}

/**
 * Exit code of an error: 1 for a finding about the data (run not found), 2 for
 * usage and input problems (bad flags, missing or unreadable files, missing key).
 */
export function exitCodeOf(error: CliError): number {
  return error.code === 'run_not_found' ? 1 : 2;
}
