import { CliError } from './cli-error.js';
import { createProgressBar } from './progress.js';
import { describeDuplicates, describeSkipped, EventScanner, type ScanStats } from './read-events.js';

/** Reading events for the CLI's commands: inputs, the scanner, and what a scan tells at its end. */

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

/** The flags every command that reads events takes. */
export interface CommonFlags {
  strict?: boolean | undefined;
  'max-line-bytes'?: string | undefined;
  'no-progress'?: boolean | undefined;
  stats?: boolean | undefined;
}

export function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
    throw new CliError({ code: 'usage', message: `${flag} must be a positive integer; got ${JSON.stringify(text)}` });
  }
  return Number(text);
}

export function nonNegativeInteger(text: string | undefined, flag: string): number | undefined {
  if (text === '0') return 0;
  return positiveInteger(text, flag);
}

export function defaultInputs(files: string[], io: CliIo): string[] {
  if (files.length > 0) return files;
  const fromEnvironment = io.env.COSTSPAN_EVENTS_FILE;
  if (fromEnvironment !== undefined && fromEnvironment !== '') return [fromEnvironment];
  if ((io.stdin as NodeJS.ReadStream).isTTY !== true) return ['-'];
  throw new CliError({ code: 'usage', message: 'no input: give a file, - for standard input, or set COSTSPAN_EVENTS_FILE' });
}

export function scanner(flags: CommonFlags, io: CliIo, options: { deduplicate?: boolean } = {}): EventScanner {
  const maxLineBytes = positiveInteger(flags['max-line-bytes'], '--max-line-bytes');
  const progress = flags['no-progress'] === true ? undefined : createProgressBar(io.stderr);
  return new EventScanner({
    stdin: io.stdin,
    ...options,
    ...(maxLineBytes === undefined ? {} : { maxLineBytes }),
    ...(progress === undefined ? {} : { progress }),
  });
}

/** Summarises skipped lines on stderr; returns the exit code `--strict` asks for (1 for a skipped line or an input cut short). */
export function finishScan(stats: ScanStats, flags: CommonFlags, io: CliIo, startedAt: number): number {
  const skipped = describeSkipped(stats);
  if (skipped !== undefined) io.stderr.write(`costspan: ${skipped}\n`);
  const duplicates = describeDuplicates(stats);
  if (duplicates !== undefined) io.stderr.write(`costspan: ${duplicates}\n`);
  if (flags.stats === true) {
    const seconds = (performance.now() - startedAt) / 1000;
    const stats_ = {
      events: stats.events,
      lines: stats.lines,
      bytes: stats.bytes,
      // Collector (OTLP/JSON) records read, other logs and signals among them, and events dropped as repeated ids.
      collector_records: stats.otlpRecords,
      other_log_records: stats.otherLogRecords,
      other_telemetry_lines: stats.otherTelemetryLines,
      duplicates: stats.duplicates,
      seconds: Math.round(seconds * 1000) / 1000,
      events_per_second: Math.round(stats.events / seconds),
      mb_per_second: Math.round((stats.bytes / 1e6 / seconds) * 10) / 10,
      peak_rss_mb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
    };
    io.stderr.write(`costspan stats: ${JSON.stringify(stats_)}\n`);
  }
  return flags.strict === true && (stats.skipped > 0 || stats.truncatedInputs.length > 0) ? 1 : 0;
}
