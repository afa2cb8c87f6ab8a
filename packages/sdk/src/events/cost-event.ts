import { invalidInput } from '@costspan/core';
import type { PricingTier } from '@costspan/pricing';

/** The three cost event types. */
export const COST_EVENT_TYPES: readonly ['llm.cost.token.recorded', 'llm.cost.session.recorded', 'llm.cost.attributed'] = [
  'llm.cost.token.recorded',
  'llm.cost.session.recorded',
  'llm.cost.attributed',
];

/** One of {@link COST_EVENT_TYPES}. */
export type CostEventType = (typeof COST_EVENT_TYPES)[number];

/** Envelope schema version, compatible with spanforge 2.0. */
export const SCHEMA_VERSION = '2.0';

/** `CostBreakdown` on the wire. `total = input + output + reasoning - cached_discount`. */
export interface CostBreakdownWire {
  input_cost_usd: number;
  output_cost_usd: number;
  total_cost_usd: number;
  cached_discount_usd?: number;
  reasoning_cost_usd?: number;
  currency?: string;
  pricing_date?: string;
}

/** `TokenUsage` on the wire. */
export interface TokenUsageWire {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cached_tokens?: number;
  cache_creation_tokens?: number;
  reasoning_tokens?: number;
  image_tokens?: number;
}

/** How a call's cost was obtained; also written as `llm.cost.pricing.status` on its span. */
export type PricingStatus = 'priced' | 'unpriced' | 'caller' | 'provider';

/** Payload of `llm.cost.token.recorded`: one model call. */
export interface TokenRecordedPayload {
  cost: CostBreakdownWire;
  token_usage: TokenUsageWire;
  model: { system: string; name: string; response_model?: string };
  pricing_tier?: PricingTier;
  span_id?: string;
  agent_run_id?: string;
  /** costspan addition: name of the enclosing agent run. */
  agent_name?: string;
  /** costspan addition: run and step names from the root, joined by `/`. */
  scope?: string;
  /** costspan addition: how the cost was obtained. */
  pricing_status?: PricingStatus;
  /** costspan addition: `gen_ai.agent.id` of the run enclosing this call's run, if any. */
  parent_run_id?: string;
  /** costspan addition: `error` when the call's span ended with an error status. */
  status?: 'error';
  /** costspan addition: the call's duration in ms (its span's, to the microsecond). */
  latency_ms?: number;
  /** costspan addition: the service tier that served the call, as the provider reported it (`flex`, `priority`, ...); only when reported. */
  service_tier?: string;
  [field: string]: unknown;
}

/**
 * A refused budget reservation on the wire. `limit`, `current` and `attempted` are in `unit`
 * (`usd` or `tokens`), exact to the pico-dollar.
 */
export interface BudgetRefusalWire {
  agent_run_id: string;
  step: string;
  /** The refusing limit: `user_daily`, `per_request`, `circuit_breaker`, ... */
  limit_type: string;
  /** Whose budget: `global`, `user:alice`, `session:<root run id>`, `request`, ... */
  scope: string;
  /** The window: `2026-03-04`, `2026-03`, `total`, `session`, `request`. */
  window: string;
  unit: string;
  limit: number;
  current: number;
  attempted: number;
  /** Spent in the window at refusal (`current = spent + reserved`), when the budget reports it. */
  spent?: number;
  /** Reserved by calls in flight at refusal, when the budget reports it. */
  reserved?: number;
}

/** Payload of `llm.cost.session.recorded`: a whole root agent run. */
export interface SessionRecordedPayload {
  total_cost: CostBreakdownWire;
  total_token_usage: TokenUsageWire;
  call_count: number;
  session_duration_ms?: number;
  models_used?: string[];
  agent_run_id: string;
  /** costspan addition: name of the root run. */
  agent_name?: string;
  /** costspan addition: calls with usage whose model had no known price (booked at 0). Only when non-zero. */
  unpriced_call_count?: number;
  /** costspan addition: calls that ran but reported no usage (counted in `call_count`). Only when non-zero. */
  usage_missing_call_count?: number;
  /** costspan addition: sorted names of the models that could not be priced. Only when non-empty. */
  unpriced_models?: string[];
  /** costspan addition: steps whose budget reservation was refused, with the refusing limit. Only when any. */
  budget_refusals?: BudgetRefusalWire[];
  /** costspan addition: `error` when the root run ended with an error status. */
  status?: 'error';
  [field: string]: unknown;
}

/** How an attributed cost was assigned. */
export type AttributionType = 'direct' | 'proportional' | 'estimated' | 'manual';

/** Payload of `llm.cost.attributed`: the cost of one root run for one principal target. */
export interface AttributedPayload {
  cost: CostBreakdownWire;
  /** `user:alice`, `team:search`, `org:acme` or `tag:key=value`. */
  attribution_target: string;
  attribution_type: AttributionType;
  source_event_ids?: string[];
  agent_run_id?: string;
  /** costspan addition: true when the cost arrived after its root run had ended. */
  late?: boolean;
  [field: string]: unknown;
}

/** Payload type of each event type. */
export interface CostEventPayloads {
  'llm.cost.token.recorded': TokenRecordedPayload;
  'llm.cost.session.recorded': SessionRecordedPayload;
  'llm.cost.attributed': AttributedPayload;
}

/**
 * A cost event: the spanforge 2.0 envelope around one payload. Fields read from
 * a file that this type does not name are kept and written back unchanged.
 */
export interface CostEvent<Type extends CostEventType = CostEventType> {
  schema_version: string;
  event_id: string;
  event_type: Type;
  timestamp: string;
  source: string;
  payload: CostEventPayloads[Type];
  trace_id?: string;
  span_id?: string;
  parent_span_id?: string;
  org_id?: string;
  team_id?: string;
  actor_id?: string;
  session_id?: string;
  tags?: Record<string, string>;
  checksum?: string;
  signature?: string;
  prev_id?: string;
  [field: string]: unknown;
}

const SOURCE_NAME_PATTERN = /^@?[A-Za-z0-9][A-Za-z0-9._/-]*$/;
const SOURCE_VERSION_PATTERN = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/;

/**
 * A `package.json`-style version as full semver: `1` is `1.0.0`, `1.2` is `1.2.0`; pre-release
 * and build suffixes are kept (`1.0.0-beta.1+build`). Undefined when it is no such version.
 */
export function normalizeSourceVersion(version: string): string | undefined {
  const match = SOURCE_VERSION_PATTERN.exec(version);
  if (match === null) return undefined;
  const [, major, minor = '0', patch = '0', suffix = ''] = match;
  return `${major}.${minor}.${patch}${suffix}`;
}

/**
 * Checks an event source, `name@version` as in `package.json`: a package or service name
 * (scoped names such as `@acme/app` too) and a version like `1`, `1.2`, `1.2.3` or
 * `1.0.0-beta.1+build`. Returns it with the version as full semver (`b2@1` becomes
 * `b2@1.0.0`), as the envelope wants.
 *
 * @throws CostspanError `invalid_source` naming the value and the accepted forms
 */
export function validateSource(source: unknown): string {
  const at = typeof source === 'string' ? source.lastIndexOf('@') : -1;
  const name = typeof source === 'string' && at > 0 ? source.slice(0, at) : '';
  const version = typeof source === 'string' && at > 0 ? normalizeSourceVersion(source.slice(at + 1)) : undefined;
  if (version === undefined || !SOURCE_NAME_PATTERN.test(name)) {
    throw invalidInput(
      'invalid_source',
      'source',
      source,
      'name@version as in package.json: a name of letters, digits and . _ / - (optionally @scope/), then @ and a version such as 1, 1.2, 1.2.3 or 1.0.0-beta.1+build, e.g. "my-app@1.0.0" or "@acme/app@2.1"',
    );
  }
  return `${name}@${version}`;
}

export { createEventIdGenerator } from './event-id.js';

/**
 * Formats a time as the envelope wants it: UTC, exactly 6 fractional digits and `Z`.
 *
 * @param time - epoch milliseconds, or an OpenTelemetry `HrTime` (`[seconds, nanoseconds]`)
 */
export function formatEventTimestamp(time: number | readonly [number, number]): string {
  let seconds: number;
  let micros: number;
  if (typeof time === 'number') {
    seconds = Math.floor(time / 1000);
    micros = Math.round((time - seconds * 1000) * 1000);
    if (micros >= 1_000_000) {
      seconds += 1;
      micros -= 1_000_000;
    }
  } else {
    seconds = time[0];
    micros = Math.floor(time[1] / 1000);
  }
  if (seconds !== lastSecond) {
    lastSecond = seconds;
    lastSecondPrefix = new Date(seconds * 1000).toISOString().slice(0, 19);
  }
  return `${lastSecondPrefix}.${String(micros).padStart(6, '0')}Z`;
}

// Events come in bursts within one second: format the date part once per second.
let lastSecond = Number.NaN;
let lastSecondPrefix = '';

/** Epoch milliseconds of an envelope timestamp (microseconds kept as a fraction). */
export function parseEventTimestamp(timestamp: string): number {
  const wholeSeconds = Date.parse(`${timestamp.slice(0, 19)}Z`);
  const micros = Number(timestamp.slice(20, 26));
  return wholeSeconds + micros / 1000;
}

/**
 * Serialises a value as canonical JSON: keys sorted at every level, no
 * whitespace, `undefined` members left out. Integers print without a fraction
 * (`10`, where spanforge's Python writes `10.0`; a JSON reader sees the same number).
 *
 * Subtrees whose keys are already in order (costspan builds its events that
 * way) go straight to the native `JSON.stringify`, which is several times faster.
 *
 * @throws CostspanError `invalid_event` for NaN, infinities, bigints or cycles
 */
export function canonicalJson(value: unknown): string {
  try {
    return writeCanonical(value, '$');
  } catch (error) {
    if (error instanceof RangeError) throw invalidInput('invalid_event', '$', '[cycle]', 'free of cycles');
    throw error;
  }
}

/** True when `JSON.stringify(value)` is already canonical: sorted keys, no undefined, finite numbers. */
function isCanonicalTree(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) if (item === undefined || !isCanonicalTree(item)) return false;
    return true;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  let previous = '';
  let first = true;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || (!first && key <= previous)) return false;
    first = false;
    previous = key;
    if (!isCanonicalTree(item)) return false;
  }
  return true;
}

function writeCanonical(value: unknown, path: string): string {
  if (isCanonicalTree(value)) return JSON.stringify(value);
  if (typeof value === 'number') throw invalidInput('invalid_event', path, value, 'a finite number');
  if (typeof value !== 'object' || value === null) throw invalidInput('invalid_event', path, value, 'JSON-serialisable');
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) text += ',';
      const item: unknown = value[index];
      text += item === undefined ? 'null' : writeCanonical(item, `${path}[${index}]`);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let text = '{';
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (!first) text += ',';
    first = false;
    text += `${JSON.stringify(key)}:${writeCanonical(item, `${path}.${key}`)}`;
  }
  return `${text}}`;
}

// Marks events the span processor built itself, keys in order: serialised natively, without the
// check. A symbol key is invisible to JSON and Object.keys, and cheaper than a WeakSet entry.
const CANONICAL: unique symbol = Symbol('costspan.canonical');

/** @internal Marks an event built in canonical key order (events are not to be changed once emitted). */
export function markCanonical(event: CostEvent): void {
  (event as { [CANONICAL]?: true })[CANONICAL] = true;
}

/** Serialises an event as one JSONL line (canonical JSON, no trailing newline). */
export function serializeEvent(event: CostEvent): string {
  return (event as { [CANONICAL]?: true })[CANONICAL] === true ? JSON.stringify(event) : canonicalJson(event);
}

export { parseCostEvent, validateCostEvent } from './cost-event-validation.js';
