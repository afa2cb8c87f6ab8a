import { afterAll, describe, expect, it } from 'vitest';
import { childStats, expectStatsAddUp, faultApp, noticeLines, printFigures, recordFault, runChild } from './harness.js';

// Faults injected into a real child process running the built SDK: exporters that break their
// contract, a pipe closed by its reader, process.exit() with events still on their way.
afterAll(() => printFigures('exporter-faults'));

describe('exporter faults never reach the host (child processes, built dist)', () => {
  it('an async export/forceFlush/shutdown that rejects: exit 0, every event counted failed, told once', async () => {
    // No unhandledRejection listener in the child: before, the first rejection killed it (exit 1).
    const result = await runChild([faultApp, 'rejecting', '50']);
    expect(result.timedOut).toBe(false);
    expect(result.stderr).not.toContain('Unhandled');
    expect(result.code).toBe(0);
    const stats = childStats(result.stderr);
    expect(stats).toMatchObject({ queued: 150, exported: 0, failed: 150, pending: 0, dropped: 0 });
    expectStatsAddUp(stats);
    const notices = noticeLines(result.stderr);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('async export rejected');
    recordFault({ fault: 'rejecting exporter', eventsAtStake: stats.queued, eventsLost: stats.failed, hostCrashed: result.code !== 0 });
  });

  it('stdout piped to a reader that closes (node app.js | head -1): no EPIPE crash, losses counted', async () => {
    let firstLine = '';
    const result = await runChild([faultApp, 'stdout-epipe', '100'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      onStart: (child) => {
        const stdout = child.stdout;
        if (stdout === null) throw new Error('no stdout pipe');
        child.once('message', () => {
          // Read one line, then close the read end, as `head -1` does; only then let the app write on.
          stdout.once('data', (chunk: Buffer) => {
            firstLine = chunk.toString('utf8').split('\n')[0] ?? '';
            stdout.once('close', () => child.send('go'));
            stdout.destroy();
          });
        });
      },
    });
    expect(result.timedOut).toBe(false);
    expect(result.stderr).not.toContain("Unhandled 'error' event");
    expect(result.code).toBe(0);
    expect(JSON.parse(firstLine)).toHaveProperty('event_id');
    const stats = childStats(result.stderr);
    expect(stats.queued).toBe(900);
    // The first 300 were written before the reader left; what followed could not be.
    expect(stats.exported).toBe(300);
    expect(stats.failed).toBe(600);
    expectStatsAddUp(stats);
    const notices = noticeLines(result.stderr);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/600|EPIPE|lost/);
    recordFault({
      fault: 'stdout reader closed (EPIPE)',
      eventsAtStake: stats.queued,
      eventsLost: stats.failed,
      hostCrashed: result.code !== 0,
    });
  });

  it('process.exit() with { stream: process.stdout }: every event arrives, and stats say so', async () => {
    const result = await runChild([faultApp, 'stream-exit', '4000']);
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => line !== '');
    const stats = childStats(result.stderr);
    expect(stats.queued).toBe(12_000);
    // Before: 12,000 "exported" while only what fit in the pipe (~64 KiB) arrived.
    expect(lines).toHaveLength(12_000);
    expect(stats).toMatchObject({ exported: 12_000, failed: 0, pending: 0 });
    for (const line of lines) JSON.parse(line);
    expectStatsAddUp(stats);
    expect(noticeLines(result.stderr)).toEqual([]);
    recordFault({
      fault: 'process.exit with stdout stream',
      eventsAtStake: stats.queued,
      eventsLost: stats.failed,
      hostCrashed: result.code !== 0,
    });
  });

  it('process.exit() while a drain is stuck on a full pipe: what did not arrive is counted lost, never exported', async () => {
    let stdout = '';
    const result = await runChild([faultApp, 'stream-exit-stalled', '4000'], {
      onStart: (child) => {
        // Nobody reads until the app has exited: its pipe stays full.
        child.once('exit', () => child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8'))));
      },
    });
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(0);
    const stats = childStats(result.stderr);
    const wholeLines = stdout.split('\n').slice(0, -1).length;
    expect(stats.queued).toBe(12_000);
    expect(stats.pending).toBe(0);
    expect(stats.failed).toBeGreaterThan(0);
    // Stats never say exported for what was not written.
    expect(stats.exported).toBeLessThanOrEqual(wholeLines);
    expectStatsAddUp(stats);
    const notices = noticeLines(result.stderr);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('lost');
    recordFault({
      fault: 'process.exit with a stalled stdout pipe',
      eventsAtStake: stats.queued,
      eventsLost: stats.failed,
      hostCrashed: result.code !== 0,
    });
  });
});
