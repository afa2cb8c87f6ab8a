import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Runs against the built package in a child process: the default (no diag logger, no handler) writes to fd 2.
function runNotices(env: Record<string, string>): { stderr: string; status: number | null } {
  const script = `
    import { notice } from '@costspan/sdk/internal';
    notice('a', 'first'); notice('a', 'again'); notice('b', 'second');`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('.', import.meta.url),
    encoding: 'utf8',
    env: { ...process.env, COSTSPAN_QUIET: '', ...env },
  });
  return { stderr: result.stderr, status: result.status };
}

describe('notices without a diag logger', () => {
  it('print one stderr line per cause', () => {
    const result = runNotices({});
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('costspan: first\ncostspan: second\n');
  });

  it('are silenced on stderr by COSTSPAN_QUIET=1', () => {
    expect(runNotices({ COSTSPAN_QUIET: '1' }).stderr).toBe('');
  });
});
