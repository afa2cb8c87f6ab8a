import { spawn, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The test workspace: children started here resolve `@costspan/sdk` to the built package. */
export const testRoot = fileURLToPath(new URL('../', import.meta.url));
export const faultApp = fileURLToPath(new URL('../fixtures/fault-app.mjs', import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  millis: number;
  timedOut: boolean;
}

/** Events and their fate, as the SDK counts them. */
export interface ChildStats {
  queued: number;
  exported: number;
  failed: number;
  dropped: number;
  pending: number;
  exporters: { exporter: string; exported: number; failed: number; pending: number }[];
}

/**
 * Runs a node child with every wait bounded: killed with SIGKILL after `timeoutMillis`.
 * `onStart` gets the child to drive pipes or IPC.
 */
export function runChild(
  args: string[],
  options: {
    timeoutMillis?: number;
    env?: Record<string, string>;
    stdio?: SpawnOptions['stdio'];
    onStart?: (child: ReturnType<typeof spawn>) => void;
  } = {},
): Promise<ChildResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: testRoot,
      env: { ...process.env, COSTSPAN_QUIET: '', COSTSPAN_EVENTS_FILE: '', ...options.env },
      stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMillis ?? 30_000);
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    if (options.onStart === undefined) child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, millis: Date.now() - started, timedOut });
    });
    options.onStart?.(child);
  });
}

/** The `STATS` line the fault app prints at exit. */
export function childStats(stderr: string): ChildStats {
  const line = stderr.split('\n').find((text) => text.startsWith('STATS '));
  if (line === undefined) throw new Error(`no STATS line in stderr:\n${stderr}`);
  return JSON.parse(line.slice('STATS '.length)) as ChildStats;
}

/** costspan's own lines on stderr (notices), without the fixture's STATS line. */
export function noticeLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('costspan: '));
}

/** Stats add up: queued = exported + failed + pending for every exporter. */
export function expectStatsAddUp(stats: ChildStats): void {
  expect(stats.exporters.length).toBeGreaterThan(0);
  for (const row of stats.exporters) expect(row.exported + row.failed + row.pending).toBe(stats.queued);
}

/** One injected fault, for the suite's closing figures. */
export interface FaultFigure {
  fault: string;
  eventsAtStake: number;
  eventsLost: number;
  hostCrashed: boolean;
  shutdownMillis?: number;
}

const figures: FaultFigure[] = [];

/** Records a fault's figures; `printFigures` prints them once the file's tests are done. */
export function recordFault(figure: FaultFigure): void {
  figures.push(figure);
}

export function printFigures(file: string): void {
  const lost = figures.reduce((total, figure) => total + figure.eventsLost, 0);
  const stake = figures.reduce((total, figure) => total + figure.eventsAtStake, 0);
  const crashes = figures.filter((figure) => figure.hostCrashed).length;
  const longest = Math.max(0, ...figures.map((figure) => figure.shutdownMillis ?? 0));
  console.log(
    `[reliability figures] ${file}: ${JSON.stringify({ faults: figures.length, eventsAtStake: stake, eventsLostCounted: lost, hostCrashes: crashes, longestShutdownMillis: longest, figures })}`,
  );
}
