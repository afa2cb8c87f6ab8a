import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { ProgressSink } from './read-events.js';

/** Inputs smaller than this finish before a bar would be worth drawing. */
export const PROGRESS_MIN_BYTES: number = 32 * 1024 * 1024;

/**
 * A progress bar on `stream` (standard error) while large inputs are read,
 * drawn by `cli-progress` at most 10 times a second and cleared when done.
 * Returns `undefined` (no bar) when the stream is not a TTY, so pipes and CI
 * logs stay clean.
 */
export function createProgressBar(
  stream: NodeJS.WriteStream | NodeJS.WritableStream,
  minBytes: number = PROGRESS_MIN_BYTES,
): ProgressSink | undefined {
  if ((stream as NodeJS.WriteStream).isTTY !== true) return undefined;
  let bar: cliProgress.SingleBar | undefined;
  let total = 0;
  let lastDrawn = 0;
  return {
    start(totalBytes: number): void {
      total = totalBytes;
      if (totalBytes < minBytes) return;
      // Loaded when a bar is drawn: most reports (pipes, small inputs) never draw one.
      const { SingleBar, Presets } = createRequire(import.meta.url)('cli-progress') as typeof cliProgress;
      bar = new SingleBar(
        {
          stream,
          format: 'reading [{bar}] {percentage}% | {mb}/{totalMb} MB | {duration_formatted} elapsed, ETA {eta_formatted}',
          clearOnComplete: true,
          hideCursor: true,
          fps: 10,
        },
        Presets.shades_classic,
      );
      bar.start(totalBytes, 0, { mb: '0', totalMb: (totalBytes / 1e6).toFixed(0) });
    },
    update(bytesRead: number): void {
      // Updating per chunk is cheap, but only hand the bar whole-megabyte steps.
      if (bar === undefined || bytesRead - lastDrawn < 1_000_000) return;
      lastDrawn = bytesRead;
      bar.update(Math.min(bytesRead, total), { mb: (bytesRead / 1e6).toFixed(0) });
    },
    stop(): void {
      bar?.stop();
      bar = undefined;
    },
  };
}
