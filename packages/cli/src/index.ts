export { CliError, exitCodeOf } from './cli-error.js';
export type { CliErrorCode, CliErrorOptions } from './cli-error.js';
export { addWireCall, wireToPico } from './event-money.js';
export { HtmlExtrasCollector } from './html-extras.js';
export type { HtmlExtras, HtmlExtrasCollectorOptions, RunCost } from './html-extras.js';
export { chartJsBundle, renderHtmlReport } from './html-report.js';
export type { HtmlReportOptions } from './html-report.js';
export { EXACT_SAMPLES, LatencyStats, latencyOf } from './latency-stats.js';
export type { LatencySummary } from './latency-stats.js';
export { main } from './main.js';
export type { CliIo } from './main.js';
export { formatCompact, formatDuration, formatInteger, formatMoney, plural } from './money-display.js';
export type { MoneyDisplayOptions } from './money-display.js';
export { createProgressBar } from './progress.js';
export { EventScanner, SKIP_REASON_TEXT, checkInputs, describeSkipped, emptyScanStats } from './read-events.js';
export type { EventHandler, EventScannerOptions, LineLocation, ProgressSink, ScanStats, SkipReason, SkippedLine } from './read-events.js';
export { REPORT_FORMATS, formatReport, formatReportCsv, formatReportMarkdown, formatReportTable, reportToJson } from './report-format.js';
export type {
  ReportContext,
  ReportFormat,
  ReportJson,
  ReportPivotJson,
  ReportRowJson,
  ReportSpikeJson,
  ReportTextOptions,
} from './report-format.js';
export type { ReportPivot, ReportPivotCell } from './report-pivot.js';
export { DEFAULT_DIMENSIONS, REPORT_DIMENSIONS, ReportAggregator } from './report.js';
export { parseDimensions, parseTimeBound } from './report-options.js';
export { formatLimitAmount, hasWarnings, warningLines } from './report-warnings.js';
export type { RefusalGroup, ReportWarnings } from './report-warnings.js';
export type { MonthToDate, Report, ReportBreakdown, ReportDimension, ReportOptions, ReportResultOptions, ReportRow } from './report.js';
export { formatRunTreeText, ownTotals, runTreeToJson } from './run-tree-format.js';
export type { RunTreeNodeJson, RunTreeTextOptions } from './run-tree-format.js';
export { RunTreeBuilder, callWindowMs, countErrors } from './run-tree.js';
export type { RunTree, RunTreeNode } from './run-tree.js';
export { SPIKE_DIMENSIONS, SPIKE_FACTOR, SPIKE_MIN_TRAILING_DAYS, SPIKE_WINDOW_DAYS, SpikeTracker } from './spikes.js';
export type { Spike, SpikeDimension, SpikeResult } from './spikes.js';
export { DEFAULT_WIDTH, terminalWidth } from './terminal-width.js';
export { renderTextTable, textWidth, truncateMiddle, wrapText } from './text-table.js';
export type { TextCell, TextColumn, TextTableOptions } from './text-table.js';
export { ChainVerifier } from './verify.js';
export type { ChainVerifierOptions, VerifyFinding, VerifyFindingKind, VerifySummary } from './verify.js';
export { CLI_VERSION } from './version.js';
export { createWhatIfAggregator } from './what-if-command.js';
export type { WhatIfFlags } from './what-if-command.js';
export { formatWhatIf, formatWhatIfCsv, formatWhatIfMarkdown, formatWhatIfText, whatIfToJson } from './what-if-format.js';
export type { WhatIfJson, WhatIfRowJson } from './what-if-format.js';
export { createWhatIfPriceSource, parsePriceDate, parseRepriceMappings, readPriceFile } from './what-if-options.js';
export type { RepriceMapping, WhatIfOptions } from './what-if-options.js';
export { WHAT_IF_DIMENSIONS, WhatIfAggregator } from './what-if-report.js';
export type { NotRepriced, WhatIfAggregatorOptions, WhatIfDimension, WhatIfReport, WhatIfRow } from './what-if-report.js';
