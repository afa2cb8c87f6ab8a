import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCostEvent } from '@costspan/sdk';

const writer = fileURLToPath(new URL('../fixtures/jsonl-writer.mjs', import.meta.url));
let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-crash-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

describe('JSONL crash safety (real files, real processes)', () => {
  it('survives kill -9 mid-burst: every line whole except possibly an unterminated last one', async () => {
    const path = join(directory, 'events.jsonl');
    const child = spawn(process.execPath, [writer, path, 'burst', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Kill once the file is being written to heavily.
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('writer produced too little output')), 30_000);
      const poll = setInterval(() => {
        if (fileSize(path) > 2_000_000) {
          clearInterval(poll);
          clearTimeout(deadline);
          resolve();
        }
      }, 5);
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    const last = lines.pop() as string; // '' when the file ends with a newline
    expect(lines.length).toBeGreaterThan(1000);
    for (const line of lines) expect(() => parseCostEvent(line)).not.toThrow();
    if (last !== '') expect(() => parseCostEvent(last)).toThrow();
  });

  it.each(['exit', 'natural'])('flushes what is queued when the process ends (%s)', async (mode) => {
    const path = join(directory, `${mode}.jsonl`);
    const child = spawn(process.execPath, [writer, path, mode, '500'], { stdio: 'inherit' });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const events = readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => parseCostEvent(line));
    // Per run: one token event, one session event, one attributed event.
    expect(events).toHaveLength(1500);
    expect(new Set(events.map((event) => event.event_id)).size).toBe(1500);
  });
});
