import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCostEvent } from '@costspan/sdk';
import { childStats, expectStatsAddUp, faultApp, noticeLines, printFigures, recordFault, runChild } from './harness.js';

// Odd JSONL targets, in child processes against the built SDK: a missing folder, a FIFO with no
// reader, a file torn mid-line by kill -9.
const writer = fileURLToPath(new URL('../fixtures/jsonl-writer.mjs', import.meta.url));
let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-paths-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));
afterAll(() => printFigures('path-faults'));

describe('odd JSONL paths never block or go silent', () => {
  it('a folder that does not exist: exit 0 and exactly one stderr line, naming the path and the fix', async () => {
    const path = join(directory, 'no-such-folder', 'events.jsonl');
    const result = await runChild([faultApp, 'file', '20', path]);
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(0);
    const lines = result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('STATS '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(path);
    expect(lines[0]).toContain('COSTSPAN_EVENTS_FILE');
    const stats = childStats(result.stderr);
    expect(stats).toMatchObject({ queued: 60, exported: 0, failed: 60, pending: 0 });
    expectStatsAddUp(stats);
    recordFault({ fault: 'JSONL folder missing', eventsAtStake: stats.queued, eventsLost: stats.failed, hostCrashed: result.code !== 0 });
  });

  it('a FIFO with no reader: the constructor does not block; exit 0, told once', async () => {
    const path = join(directory, 'events.fifo');
    execFileSync('mkfifo', [path]);
    // Before: open() blocked forever waiting for a reader (the child is killed at the bound).
    const result = await runChild([faultApp, 'file', '20', path], { timeoutMillis: 20_000 });
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(0);
    const notices = noticeLines(result.stderr);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(path);
    expect(notices[0]).toContain('FIFO');
    const stats = childStats(result.stderr);
    expect(stats).toMatchObject({ queued: 60, failed: 60 });
    expectStatsAddUp(stats);
    recordFault({
      fault: 'JSONL path is a FIFO without reader',
      eventsAtStake: stats.queued,
      eventsLost: stats.failed,
      hostCrashed: result.code !== 0,
    });
  });

  it('a FIFO with a reader receives every event', async () => {
    const path = join(directory, 'events.fifo');
    execFileSync('mkfifo', [path]);
    // The parent holds the read end (opened without blocking); 60 events fit in the pipe's buffer.
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const result = await runChild([faultApp, 'file', '20', path], { timeoutMillis: 20_000 });
      expect(result.code).toBe(0);
      const stats = childStats(result.stderr);
      expect(stats).toMatchObject({ queued: 60, exported: 60, failed: 0, pending: 0 });
      expectStatsAddUp(stats);
      const buffer = Buffer.alloc(1 << 20);
      let received = '';
      for (let read = readSync(reader, buffer); read > 0; read = readSync(reader, buffer)) received += buffer.toString('utf8', 0, read);
      const lines = received.trimEnd().split('\n');
      expect(lines).toHaveLength(60);
      for (const line of lines) parseCostEvent(line);
    } finally {
      closeSync(reader);
    }
  });

  it('appending after kill -9 tore the last line: the first new event is on its own line', async () => {
    const path = join(directory, 'events.jsonl');
    const burst = spawn(process.execPath, [writer, path, 'burst', '0'], { stdio: ['ignore', 'ignore', 'inherit'] });
    // Listened for from the start: a writer that dies early must not leave this wait hanging.
    const burstClosed = new Promise((resolve) => burst.once('close', resolve));
    const deadline = Date.now() + 30_000;
    while ((statSync(path, { throwIfNoEntry: false })?.size ?? 0) < 200_000 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    burst.kill('SIGKILL');
    await burstClosed;
    // Make sure the file ends mid-line, as a crash inside a write leaves it (kill -9 often does by itself).
    if (readFileSync(path, 'utf8').endsWith('\n')) appendFileSync(path, '{"event_id":"01HW4Z3RX');
    const written = readFileSync(path, 'utf8');
    const tornTail = written.slice(written.lastIndexOf('\n') + 1);
    const before = written.split('\n').length;
    const result = await runChild([writer, path, 'exit', '10']);
    expect(result.code).toBe(0);
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.length).toBe(before + 30);
    // Every line parses except the torn one, which stays alone on its line.
    const torn = lines.filter((line) => {
      try {
        parseCostEvent(line);
        return false;
      } catch {
        return true;
      }
    });
    expect(torn).toEqual([tornTail]);
    recordFault({ fault: 'torn last line (kill -9)', eventsAtStake: 30, eventsLost: 0, hostCrashed: false });
  });
});
