import { DEFAULT_DIMENSIONS } from './report.js';
import { CLI_VERSION } from './version.js';

// The texts of `costspan --help` and `costspan <command> --help`.

/** `costspan --help`. */
export const MAIN_HELP: string = `costspan ${CLI_VERSION}: what did your LLM agents cost, where, and for whom

Usage:
  costspan report [files...|-]     totals and breakdowns (model, provider, agent, scope, user, team, org, tag, day)
  costspan run <run-id> [files|-]  one run's tree of runs and steps with own and inclusive cost
  costspan verify [files...|-]     check every line against the event schema and signed events' chain

Files are JSONL written by @costspan/sdk, or the OTLP/JSON an OpenTelemetry
Collector's file exporter writes of events from @costspan/exporter-otlp, in
any mix; gzip is detected; each event_id counts once; '-' is standard input.
With no file, $COSTSPAN_EVENTS_FILE is read, else standard input when it is a pipe.
Run 'costspan <command> --help' for the options of a command.
Exit codes: 0 ok, 1 a finding (run not found, verification failed, bad lines with --strict), 2 usage or input error.
`;

/** Options every reading command shares. */
const COMMON_OPTIONS_HELP = `  --strict               exit 1 when any line was skipped (malformed, unknown type, ...)
                         or a gzip input was cut short
  --max-line-bytes N     skip lines longer than N bytes without buffering them (default 1048576)
                         (a collector's OTLP/JSON line, a whole batch: 64 MiB or N)
  --no-progress          no progress bar (it is drawn on a TTY for inputs over 32 MB)
  --stats                print events/s, MB/s and peak RSS on standard error
  -h, --help             this help`;

/** `costspan report --help`. */
export const REPORT_HELP: string = `Usage: costspan report [files...|-] [options]

Totals and breakdowns of cost events, money summed exactly (integer pico-USD).
Totals come from llm.cost.token.recorded events (one per model call); session
events add run counts. Rows are sorted by cost (days by date). Every row has
its calls' p50/p95 latency and total time (token events' latency_ms); a day,
agent, model or user above 3x its trailing 7-day median is marked with a ▲.
The table fits the terminal (its width, else $COLUMNS, else 80 columns).

Options:
  --since TIME           only events at or after TIME (2026-03-01, 2026-03 or ISO 8601; UTC)
  --until TIME           only events before TIME (a date or month includes that whole day or month)
  --as-of TIME           "now" for month-to-date and the projection (default: the last event)
  --group-by LIST        breakdowns to show, comma-separated: model, provider, agent, scope,
                         user, team, org, tag, day, run, source, or principal (= user,team,org,tag)
                         (default: ${DEFAULT_DIMENSIONS.join(',')}); exactly two (user,model)
                         are also crossed in a pivot table
  --top N                rows per breakdown; the rest are summed in one row
                         (default 10 for table and markdown, all for json and csv)
  --format FORMAT        table (default), json, csv or markdown
  --exact                every digit of every amount in table and markdown (json and csv always
                         have them); by default 4 significant digits, cents from $1
  --html FILE            also write a self-contained HTML page with charts to FILE
  --reprice FROM=TO      what-if: re-price FROM's calls as model TO, from their token counts
                         (repeatable, or a comma list); prints actual vs what-if instead
  --price-date DAY       what-if: price every call at the prices in force on DAY (2026-01-01)
  --prices FILE          what-if: custom prices (JSON array of {model, inputPerMillion,
                         outputPerMillion, ...}) on top of the bundled table (repeatable)
${COMMON_OPTIONS_HELP}

Examples:
  costspan report events.jsonl
  costspan report logs/*.jsonl.gz --since 2026-03-01 --group-by model,day --format csv
  cat events.jsonl | costspan report - --group-by principal --top 5 --html report.html
  costspan report events.jsonl --reprice gpt-4o=gpt-4o-mini,claude-sonnet-4=claude-3-5-haiku
`;

/** `costspan run --help`. */
export const RUN_HELP: string = `Usage: costspan run <run-id> [files...|-] [options]

The tree of one agent run (a root or nested run id, payload.agent_run_id):
its nested runs and steps with own and inclusive cost, calls, tokens, models,
duration and errors, and who the cost was attributed to. Exit 1 when no event
has the run id.

Options:
  --format FORMAT        text (default) or json
  --exact                every digit of every amount in the text
${COMMON_OPTIONS_HELP}

Example:
  costspan run 01JQ3S8V4W6X7Y8Z9A0B1C2D3E events.jsonl
`;

/** `costspan verify --help`. */
export const VERIFY_HELP: string = `Usage: costspan verify [files...|-] [options]

Checks every line against the cost event schema and, for signed events, that
each checksum matches its payload, each signature verifies under the key,
each costspan_signature (the whole event: principal, tags, timestamps) verifies,
and each prev_id links to the event before it. With a key, unsigned events are
problems too. Reports the first tampered, re-attributed, reordered or missing
event and exits 1 on any problem. Files signed by costspan 0.1 (no
costspan_signature) still verify, with a note.

Options:
  --key-env NAME         read the HMAC key from environment variable NAME
                         (default: COSTSPAN_SIGNING_KEY). Without a key, checksums
                         and links are still checked, signatures are not.
                         The key is never taken on the command line (it would show in ps).
  --require-signed       unsigned events are a problem even without a key
  --allow-unsigned       with a key, accept unsigned events (writers that do not sign share the file)
  --format FORMAT        text (default) or json
  --max-line-bytes N     skip lines longer than N bytes (counted as invalid)
  --no-progress          no progress bar
  -h, --help             this help
`;
