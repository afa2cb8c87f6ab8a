/** Columns when nothing says otherwise: standard output is not a terminal and `COLUMNS` is not set. */
export const DEFAULT_WIDTH = 80;

/**
 * The columns text output should fit in: the terminal's width when standard
 * output is one (`process.stdout.columns`), else `COLUMNS` (as shells and
 * `less` set it), else {@link DEFAULT_WIDTH}. At least 20.
 */
export function terminalWidth(stdout: NodeJS.WritableStream, env: NodeJS.ProcessEnv): number {
  const tty = stdout as Partial<NodeJS.WriteStream>;
  if (tty.isTTY === true && typeof tty.columns === 'number' && tty.columns > 0) return Math.max(20, tty.columns);
  const fromEnvironment = env.COLUMNS;
  if (fromEnvironment !== undefined && /^\d+$/.test(fromEnvironment) && Number(fromEnvironment) > 0)
    return Math.max(20, Number(fromEnvironment));
  return DEFAULT_WIDTH;
}
