import { CostspanError, invalidInput } from '@costspan/core';
import { COST_EVENT_TYPES, SCHEMA_VERSION, type CostEvent, type CostEventType } from './cost-event.js';

const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const TIMESTAMP_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const SOURCE_PATTERN = /^@?[A-Za-z0-9][A-Za-z0-9._/-]*@\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/;
const SPAN_ID_PATTERN = /^[0-9a-f]{16}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireField(condition: boolean, field: string, value: unknown, expectation: string): void {
  if (!condition) throw invalidInput('invalid_event', field, value, expectation);
}

function checkMoney(breakdown: unknown, field: string): void {
  requireField(isPlainObject(breakdown), field, breakdown, 'an object');
  const record = breakdown as Record<string, unknown>;
  for (const key of ['input_cost_usd', 'output_cost_usd', 'total_cost_usd']) {
    const amount = record[key];
    requireField(typeof amount === 'number' && Number.isFinite(amount) && amount >= 0, `${field}.${key}`, amount, 'a finite number >= 0');
  }
  for (const key of ['cached_discount_usd', 'reasoning_cost_usd']) {
    const amount = record[key];
    if (amount !== undefined) {
      requireField(typeof amount === 'number' && Number.isFinite(amount) && amount >= 0, `${field}.${key}`, amount, 'a finite number >= 0');
    }
  }
}

function checkTokens(usage: unknown, field: string): void {
  requireField(isPlainObject(usage), field, usage, 'an object');
  const record = usage as Record<string, unknown>;
  for (const key of ['input_tokens', 'output_tokens', 'total_tokens']) {
    const count = record[key];
    requireField(Number.isSafeInteger(count) && (count as number) >= 0, `${field}.${key}`, count, 'an integer >= 0');
  }
}

function checkSessionCounts(payload: Record<string, unknown>): void {
  for (const key of ['unpriced_call_count', 'usage_missing_call_count']) {
    const count = payload[key];
    if (count !== undefined)
      requireField(Number.isSafeInteger(count) && (count as number) >= 0, `payload.${key}`, count, 'an integer >= 0');
  }
  const models = payload.unpriced_models;
  if (models !== undefined) {
    requireField(
      Array.isArray(models) && models.every((model) => typeof model === 'string'),
      'payload.unpriced_models',
      models,
      'a list of model names',
    );
  }
  const refusals = payload.budget_refusals;
  if (refusals === undefined) return;
  requireField(Array.isArray(refusals), 'payload.budget_refusals', refusals, 'a list of refusals');
  for (const [index, refusal] of (refusals as unknown[]).entries()) {
    const field = `payload.budget_refusals[${index}]`;
    requireField(isPlainObject(refusal), field, refusal, 'an object');
    const record = refusal as Record<string, unknown>;
    for (const key of ['agent_run_id', 'limit_type', 'scope', 'unit']) {
      requireField(typeof record[key] === 'string', `${field}.${key}`, record[key], 'a string');
    }
    for (const key of ['limit', 'current', 'attempted']) {
      const amount = record[key];
      requireField(typeof amount === 'number' && Number.isFinite(amount) && amount >= 0, `${field}.${key}`, amount, 'a finite number >= 0');
    }
  }
}

/**
 * Checks that `value` is a well-formed cost event (envelope and payload) and
 * returns it typed. Unknown fields are kept.
 *
 * @throws CostspanError `unknown_event_type` or `invalid_event`, naming the field and value
 */
export function validateCostEvent(value: unknown): CostEvent {
  requireField(isPlainObject(value), 'event', value, 'a JSON object');
  const event = value as Record<string, unknown>;
  requireField(event.schema_version === SCHEMA_VERSION, 'schema_version', event.schema_version, `"${SCHEMA_VERSION}"`);
  requireField(typeof event.event_id === 'string' && ULID_PATTERN.test(event.event_id), 'event_id', event.event_id, 'a ULID');
  if (!(COST_EVENT_TYPES as readonly unknown[]).includes(event.event_type)) {
    throw invalidInput('unknown_event_type', 'event_type', event.event_type, `one of ${COST_EVENT_TYPES.join(', ')}`);
  }
  requireField(
    typeof event.timestamp === 'string' && TIMESTAMP_PATTERN.test(event.timestamp),
    'timestamp',
    event.timestamp,
    'UTC with 6 fractional digits, e.g. 2026-03-04T14:32:11.042817Z',
  );
  requireField(typeof event.source === 'string' && SOURCE_PATTERN.test(event.source), 'source', event.source, 'name@semver');
  requireField(isPlainObject(event.payload) && Object.keys(event.payload).length > 0, 'payload', event.payload, 'a non-empty object');
  if (event.trace_id !== undefined)
    requireField(
      typeof event.trace_id === 'string' && TRACE_ID_PATTERN.test(event.trace_id),
      'trace_id',
      event.trace_id,
      '32 lowercase hex digits',
    );
  for (const key of ['span_id', 'parent_span_id']) {
    const id = event[key];
    if (id !== undefined) requireField(typeof id === 'string' && SPAN_ID_PATTERN.test(id), key, id, '16 lowercase hex digits');
  }
  const payload = event.payload as Record<string, unknown>;
  switch (event.event_type as CostEventType) {
    case 'llm.cost.token.recorded':
      checkMoney(payload.cost, 'payload.cost');
      checkTokens(payload.token_usage, 'payload.token_usage');
      requireField(
        isPlainObject(payload.model) && typeof payload.model.name === 'string',
        'payload.model',
        payload.model,
        'an object with a name',
      );
      if (payload.service_tier !== undefined)
        requireField(
          typeof payload.service_tier === 'string' && payload.service_tier !== '',
          'payload.service_tier',
          payload.service_tier,
          'a non-empty string',
        );
      break;
    case 'llm.cost.session.recorded':
      checkMoney(payload.total_cost, 'payload.total_cost');
      checkTokens(payload.total_token_usage, 'payload.total_token_usage');
      requireField(
        Number.isSafeInteger(payload.call_count) && (payload.call_count as number) >= 0,
        'payload.call_count',
        payload.call_count,
        'an integer >= 0',
      );
      checkSessionCounts(payload);
      break;
    case 'llm.cost.attributed':
      checkMoney(payload.cost, 'payload.cost');
      requireField(
        typeof payload.attribution_target === 'string' && payload.attribution_target.length > 0,
        'payload.attribution_target',
        payload.attribution_target,
        'a non-empty string',
      );
      break;
  }
  return value as CostEvent;
}

/**
 * Parses one JSONL line into a validated cost event. Keys such as `__proto__`
 * are kept as plain data and can never alter prototypes.
 *
 * @throws CostspanError `invalid_event` (malformed JSON or fields) or `unknown_event_type`
 */
export function parseCostEvent(line: string): CostEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new CostspanError({
      code: 'invalid_event',
      field: 'line',
      value: line.length > 80 ? `${line.slice(0, 77)}...` : line,
      message: `line is not valid JSON: ${(error as Error).message}`,
      cause: error,
    });
  }
  return validateCostEvent(value);
}
