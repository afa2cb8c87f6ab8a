import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { CliError, exitCodeOf } from './cli-error.js';
import { displayText } from './display-text.js';
import { describeSkipped } from './scan-summary.js';
import { defaultInputs, finishScan, nonNegativeInteger, scanner, type CliIo } from './cli-input.js';
import { formatReportJson } from './report-json.js';
import { parseDimensions, parseTimeBound, REPORT_FORMATS, type ReportFormat } from './report-options.js';
import { DEFAULT_DIMENSIONS, ReportAggregator, type ReportDimension } from './report.js';
import { unreadFields } from './report-group.js';
import { terminalWidth } from './terminal-width.js';
import type { VerifySummary } from './verify.js';
import type * as Help from './help.js';
import { CLI_VERSION } from './version.js';
import { writeWarningsToStderr } from './warning-stderr.js';
import { createWhatIfAggregator } from './what-if-command.js';

// Modules a command needs only for some flags (the SDK, pricing, HTML, tables) are imported when
// those flags are given: start-up is part of every report's time (the SDK alone takes ~0.4 s).
const help = (): Promise<typeof Help> => import('./help.js');

const HTML_DIMENSIONS: readonly ReportDimension[] = ['day', 'model', 'agent', 'user', 'team', 'org', 'tag'];

export type { CliIo } from './cli-input.js';

const COMMON_OPTIONS = {
  strict: { type: 'boolean' },
  'max-line-bytes': { type: 'string' },
  'no-progress': { type: 'boolean' },
  stats: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Runs the costspan CLI with `argv` (without `node` and the script) and
 * returns the exit code: 0 ok, 1 a finding, 2 usage or input error. Never
 * calls `process.exit`, so it can be tested in process.
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const streams: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
  };
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'report':
        return await reportCommand(rest, streams);
      case 'run':
        return await runCommand(rest, streams);
      case 'verify':
        return await verifyCommand(rest, streams);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        streams.stdout.write((await help()).MAIN_HELP);
        return command === undefined ? 2 : 0;
      case '--version':
      case '-v':
        streams.stdout.write(`${CLI_VERSION}\n`);
        return 0;
      default:
        throw new CliError({ code: 'usage', message: `unknown command ${JSON.stringify(command)}; run costspan --help` });
    }
  } catch (error) {
    if (CliError.isInstance(error)) {
      streams.stderr.write(`costspan: ${error.message}\n`);
      return exitCodeOf(error);
    }
    if (
      error instanceof TypeError &&
      typeof (error as NodeJS.ErrnoException).code === 'string' &&
      (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      streams.stderr.write(`costspan: ${error.message}; run costspan ${command} --help\n`);
      return 2;
    }
    streams.stderr.write(`costspan: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 70;
  }
}

async function reportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...COMMON_OPTIONS,
      since: { type: 'string' },
      until: { type: 'string' },
      'as-of': { type: 'string' },
      'group-by': { type: 'string' },
      top: { type: 'string' },
      format: { type: 'string' },
      exact: { type: 'boolean' },
      html: { type: 'string' },
      reprice: { type: 'string', multiple: true },
      'price-date': { type: 'string' },
      prices: { type: 'string', multiple: true },
    },
  });
  if (values.help === true) {
    io.stdout.write((await help()).REPORT_HELP);
    return 0;
  }
  const format = (values.format ?? 'table') as ReportFormat;
  if (!REPORT_FORMATS.includes(format))
    throw new CliError({
      code: 'usage',
      message: `--format must be one of ${REPORT_FORMATS.join(', ')}; got ${JSON.stringify(values.format)}`,
    });
  const dimensions = values['group-by'] === undefined ? [...DEFAULT_DIMENSIONS] : parseDimensions(values['group-by']);
  const sinceMs = values.since === undefined ? undefined : parseTimeBound(values.since, '--since');
  const untilMs = values.until === undefined ? undefined : parseTimeBound(values.until, '--until');
  const asOfMs = values['as-of'] === undefined ? undefined : parseTimeBound(values['as-of'], '--as-of');
  const top = nonNegativeInteger(values.top, '--top') ?? (format === 'table' || format === 'markdown' ? 10 : undefined);
  const inputs = defaultInputs(positionals, io);

  // The HTML page always shows days, models, agents and principals, whatever --group-by shows.
  const aggregated: ReportDimension[] = [...dimensions];
  if (values.html !== undefined) for (const dimension of HTML_DIMENSIONS) if (!aggregated.includes(dimension)) aggregated.push(dimension);
  const period = { ...(sinceMs === undefined ? {} : { sinceMs }), ...(untilMs === undefined ? {} : { untilMs }) };
  const whatIf = await createWhatIfAggregator(values, period);
  const extras = values.html === undefined ? undefined : new (await import('./html-extras.js')).HtmlExtrasCollector(period);
  // The page reads its inputs twice (the top runs' trees): standard input is spooled to disk.
  const spooled = values.html === undefined ? undefined : await spoolStdin(inputs, io);
  try {
    const aggregator = new ReportAggregator({
      dimensions: aggregated,
      // Exactly two --group-by dimensions are also crossed in a pivot.
      ...(dimensions.length === 2 ? { pivot: [dimensions[0] as ReportDimension, dimensions[1] as ReportDimension] as const } : {}),
      ...(sinceMs === undefined ? {} : { sinceMs }),
      ...(untilMs === undefined ? {} : { untilMs }),
    });
    const startedAt = performance.now();
    const reader = scanner(values, io);
    if (whatIf === undefined && extras === undefined) {
      // Only the report's own figures: canonical lines are read straight into records (the fast path).
      await reader.scanRecords(spooled?.inputs ?? inputs, (record) => aggregator.addRecord(record), { unread: unreadFields(aggregated) });
    } else {
      await reader.scan(spooled?.inputs ?? inputs, (event) => {
        aggregator.add(event);
        whatIf?.add(event);
        extras?.add(event);
      });
    }
    // Named as given: standard input spooled for --html is `-` again.
    const scanned = spooled?.inputs ?? inputs;
    for (const input of reader.stats.truncatedInputs) aggregator.addTruncatedInput(inputs[scanned.indexOf(input)] ?? input);

    const context = {
      inputs,
      ...(values.since === undefined ? {} : { since: values.since }),
      ...(values.until === undefined ? {} : { until: values.until }),
      scan: reader.stats,
    };
    const resultOptions = { ...(top === undefined ? {} : { top }), ...(asOfMs === undefined ? {} : { asOfMs }) };
    const report = aggregator.result(resultOptions);
    const shown = { ...report, breakdowns: report.breakdowns.filter((breakdown) => dimensions.includes(breakdown.dimension)) };
    const whatIfReport = whatIf?.result({ dimensions, ...(top === undefined ? {} : { top }) });
    io.stdout.write(
      whatIfReport !== undefined
        ? (await import('./what-if-format.js')).formatWhatIf(whatIfReport, format, inputs, {
            exact: values.exact === true,
            warnings: report.warnings,
          })
        : format === 'json'
          ? formatReportJson(shown, context)
          : (await import('./report-format.js')).formatReport(shown, format, context, textOptions(values, io)),
    );
    // CSV has no place for warnings: stderr tells them, stdout stays parseable.
    if (format === 'csv') writeWarningsToStderr(report.warnings, io);
    if (values.html !== undefined && extras !== undefined) {
      const full = aggregator.result(asOfMs === undefined ? {} : { asOfMs });
      const trees = await extras.buildTrees((handler) =>
        scanner({ ...values, 'no-progress': true }, io).scan(spooled?.inputs ?? inputs, handler),
      );
      const { renderHtmlReport } = await import('./html-report.js');
      const page = renderHtmlReport(full, context, {
        extras: extras.result(trees),
        ...(whatIf === undefined ? {} : { whatIf: whatIf.result() }),
      });
      try {
        await writeFile(values.html, page);
      } catch (error) {
        throw new CliError({ code: 'output_error', message: `cannot write ${values.html}: ${(error as Error).message}`, cause: error });
      }
      io.stderr.write(`costspan: wrote ${values.html}\n`);
    }
    return finishScan(reader.stats, values, io, startedAt);
  } finally {
    await spooled?.cleanup();
  }
}

/** How text output is laid out: the terminal's width, amounts rounded unless --exact. */
function textOptions(values: { exact?: boolean }, io: CliIo): { width: number; exact: boolean } {
  return { width: terminalWidth(io.stdout, io.env), exact: values.exact === true };
}

/** `run` reads its inputs twice; standard input is spooled to a temporary file (disk, not memory). */
async function spoolStdin(inputs: string[], io: CliIo): Promise<{ inputs: string[]; cleanup: () => Promise<void> }> {
  if (!inputs.includes('-')) return { inputs, cleanup: () => Promise.resolve() };
  const directory = await mkdtemp(join(tmpdir(), 'costspan-run-'));
  const path = join(directory, 'stdin.jsonl');
  await pipeline(io.stdin, createWriteStream(path, { mode: 0o600 }));
  return { inputs: inputs.map((input) => (input === '-' ? path : input)), cleanup: () => rm(directory, { recursive: true, force: true }) };
}

async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { ...COMMON_OPTIONS, format: { type: 'string' }, exact: { type: 'boolean' } },
  });
  if (values.help === true) {
    io.stdout.write((await help()).RUN_HELP);
    return 0;
  }
  const [runId, ...files] = positionals;
  if (runId === undefined || runId === '')
    throw new CliError({ code: 'usage', message: 'run needs a run id: costspan run <run-id> [files...|-]' });
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new CliError({ code: 'usage', message: `--format must be text or json; got ${JSON.stringify(format)}` });
  const requested = defaultInputs(files, io);
  const { RunTreeBuilder } = await import('./run-tree.js');
  const { formatRunTreeText, runTreeToJson } = await import('./run-tree-format.js');
  const startedAt = performance.now();
  const reader = scanner(values, io);
  // Pass 1 checks the inputs exist before standard input is spooled.
  const spooled = await spoolStdin(requested, io);
  try {
    const builder = new RunTreeBuilder(runId);
    await reader.scan(spooled.inputs, (event) => builder.locate(event));
    const firstPass = {
      ...reader.stats,
      skippedByReason: { ...reader.stats.skippedByReason },
      examples: [...reader.stats.examples],
      truncatedInputs: [...reader.stats.truncatedInputs],
    };
    for (const input of firstPass.truncatedInputs) builder.addTruncatedInput(requested[spooled.inputs.indexOf(input)] ?? input);
    if (builder.found) {
      const second = scanner({ ...values, 'no-progress': values['no-progress'] }, io);
      await second.scan(spooled.inputs, (event) => builder.add(event));
    }
    const tree = builder.build();
    io.stdout.write(
      format === 'json' ? `${JSON.stringify(runTreeToJson(tree), null, 2)}\n` : formatRunTreeText(tree, textOptions(values, io)),
    );
    return finishScan(firstPass, values, io, startedAt);
  } catch (error) {
    if (CliError.isInstance(error) && error.code === 'run_not_found') {
      const skipped = describeSkipped(reader.stats);
      if (skipped !== undefined) io.stderr.write(`costspan: ${skipped}\n`);
    }
    throw error;
  } finally {
    await spooled.cleanup();
  }
}

async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'key-env': { type: 'string' },
      'require-signed': { type: 'boolean' },
      'allow-unsigned': { type: 'boolean' },
      format: { type: 'string' },
      'max-line-bytes': { type: 'string' },
      'no-progress': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    io.stdout.write((await help()).VERIFY_HELP);
    return 0;
  }
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new CliError({ code: 'usage', message: `--format must be text or json; got ${JSON.stringify(format)}` });
  const keyName = values['key-env'] ?? 'COSTSPAN_SIGNING_KEY';
  const keyText = io.env[keyName];
  if (values['key-env'] !== undefined && (keyText === undefined || keyText === '')) {
    throw new CliError({ code: 'missing_key', message: `--key-env ${keyName}: environment variable ${keyName} is not set or empty` });
  }
  const { createSigningKey } = await import('@costspan/sdk');
  const { ChainVerifier } = await import('./verify.js');
  const key = keyText === undefined || keyText === '' ? undefined : createSigningKey(keyText);
  const inputs = defaultInputs(positionals, io);
  if (values['require-signed'] === true && values['allow-unsigned'] === true) {
    throw new CliError({ code: 'usage', message: '--require-signed and --allow-unsigned contradict each other; give one' });
  }
  // Default (undefined): unsigned events are problems when a key is given.
  const requireSigned = values['require-signed'] === true ? true : values['allow-unsigned'] === true ? false : undefined;
  const verifier = new ChainVerifier({ ...(key === undefined ? {} : { key }), ...(requireSigned === undefined ? {} : { requireSigned }) });
  // Every line is checked: a replayed event is a finding here, not a duplicate to drop.
  const reader = scanner(values, io, { deduplicate: false });
  await reader.scan(inputs, (event, location) => {
    verifier.check(event, location);
  });
  const summary = verifier.summary();
  const stats = reader.stats;
  // An input cut short lost its events after the cut: a chain checked only up to there is not OK.
  const ok = summary.findingCount === 0 && stats.skipped === 0 && stats.truncatedInputs.length === 0;
  if (format === 'json') {
    io.stdout.write(
      `${JSON.stringify(
        {
          ok,
          lines: stats.lines,
          events: summary.events,
          signed: summary.signed,
          unsigned: summary.unsigned,
          chains: summary.chains,
          signatures_checked: summary.signaturesChecked,
          whole_event_signed: summary.wholeSigned,
          legacy_signed: summary.legacySigned,
          legacy_checksums: summary.legacyChecksums,
          notes: verifyNotes(summary),
          invalid_lines: stats.skipped,
          invalid_by_reason: stats.skippedByReason,
          invalid_examples: stats.examples,
          truncated_inputs: stats.truncatedInputs,
          problems: summary.findingCount,
          findings: summary.findings.map((finding) => ({
            kind: finding.kind,
            file: finding.file,
            line: finding.line,
            event_id: finding.eventId,
            message: finding.message,
          })),
        },
        null,
        2,
      )}\n`,
    );
  } else {
    const lines: string[] = [];
    lines.push(
      `${stats.lines} lines: ${summary.events} valid events (${summary.signed} signed in ${summary.chains} chain${summary.chains === 1 ? '' : 's'}, ${summary.unsigned} unsigned), ${stats.skipped} invalid`,
    );
    if (summary.signed > 0 && !summary.signaturesChecked)
      lines.push(`signatures NOT checked: no key (set ${keyName} or pass --key-env NAME); checksums and links were checked`);
    for (const note of verifyNotes(summary)) lines.push(`note: ${note}`);
    const skipped = describeSkipped(stats);
    if (skipped !== undefined) lines.push(`invalid lines: ${skipped.replace(/^skipped /, '')}`);
    for (const input of stats.truncatedInputs)
      lines.push(`cut short: ${input === '-' ? 'standard input' : displayText(input)} (its gzip stream ends early)`);
    const first = summary.findings[0];
    if (first !== undefined) {
      lines.push(`FIRST PROBLEM: ${first.file}:${first.line} event ${first.eventId}: ${first.kind.replace(/_/g, ' ')}: ${first.message}`);
      for (const finding of summary.findings.slice(1))
        lines.push(`  also ${finding.file}:${finding.line} event ${finding.eventId}: ${finding.kind.replace(/_/g, ' ')}`);
      if (summary.findingCount > summary.findings.length) lines.push(`  ... ${summary.findingCount - summary.findings.length} more`);
    }
    lines.push(ok ? 'OK' : 'FAILED');
    io.stdout.write(`${lines.join('\n')}\n`);
  }
  return ok ? 0 : 1;
}

/** What a person should know about a verification that passed or failed for other reasons. */
function verifyNotes(summary: VerifySummary): string[] {
  const notes: string[] = [];
  if (summary.legacySigned > 0) {
    notes.push(
      `${summary.legacySigned} signed event${summary.legacySigned === 1 ? ' is' : 's are'} in costspan 0.1's format (no costspan_signature): ` +
        'their actor_id, org_id, team_id, tags and timestamps are covered by no signature, so their attribution is unverified',
    );
  }
  if (summary.legacyChecksums > 0) {
    notes.push(
      `${summary.legacyChecksums} checksum${summary.legacyChecksums === 1 ? ' uses' : 's use'} costspan 0.1's number rendering (0.0000135 for 1.35e-05): ` +
        "accepted here, but spanforge's verify_chain rejects those events",
    );
  }
  return notes;
}
