import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseCostEvent, serializeEvent, type CostEvent } from '@costspan/sdk';

// A fixed event file for golden-output tests: every id, time, amount and latency is known.

interface Call {
  day: number;
  time?: string;
  agent: string;
  run: string;
  scope: string;
  model: string;
  provider?: string;
  input: number;
  output: number;
  inputTokens: number;
  outputTokens: number;
  user?: string;
  team?: string;
  tags?: Record<string, string>;
  latencyMs?: number;
  unpriced?: boolean;
  parentRun?: string;
}

let sequence = 0;
const id = (): string => `01JGM00000000000000${String((sequence += 1)).padStart(7, '0')}`;
const traceOf = (run: string): string => createHash('md5').update(run).digest('hex');
const stamp = (day: number, time = '12:00:00.000000'): string => `2026-03-${String(day).padStart(2, '0')}T${time}Z`;

function token(call: Call): CostEvent {
  const total = Math.round((call.input + call.output) * 1e12) / 1e12;
  return parseCostEvent(
    JSON.stringify({
      ...(call.user === undefined ? {} : { actor_id: call.user }),
      event_id: id(),
      event_type: 'llm.cost.token.recorded',
      ...(call.user === undefined ? {} : { org_id: 'acme' }),
      payload: {
        agent_name: call.agent,
        agent_run_id: call.run,
        cost: { input_cost_usd: call.input, output_cost_usd: call.output, total_cost_usd: total },
        ...(call.latencyMs === undefined ? {} : { latency_ms: call.latencyMs }),
        model: { name: call.model, system: call.provider ?? 'openai' },
        ...(call.parentRun === undefined ? {} : { parent_run_id: call.parentRun }),
        ...(call.unpriced === true ? { pricing_status: 'unpriced' } : {}),
        scope: call.scope,
        token_usage: {
          input_tokens: call.inputTokens,
          output_tokens: call.outputTokens,
          total_tokens: call.inputTokens + call.outputTokens,
        },
      },
      schema_version: '2.0',
      source: 'golden-app@1.0.0',
      ...(call.tags === undefined ? {} : { tags: call.tags }),
      ...(call.team === undefined ? {} : { team_id: call.team }),
      timestamp: stamp(call.day, call.time),
      trace_id: traceOf(call.parentRun ?? call.run),
    }),
  );
}

function session(options: {
  day: number;
  time: string;
  run: string;
  agent: string;
  calls: Call[];
  durationMs: number;
  principal: Pick<Call, 'user' | 'team' | 'tags'>;
}): CostEvent {
  const principal = options.principal;
  const cost = options.calls.reduce((sum, call) => sum + Math.round((call.input + call.output) * 1e12), 0) / 1e12;
  const input = options.calls.reduce((sum, call) => sum + Math.round(call.input * 1e12), 0) / 1e12;
  const output = options.calls.reduce((sum, call) => sum + Math.round(call.output * 1e12), 0) / 1e12;
  const inputTokens = options.calls.reduce((sum, call) => sum + call.inputTokens, 0);
  const outputTokens = options.calls.reduce((sum, call) => sum + call.outputTokens, 0);
  return parseCostEvent(
    JSON.stringify({
      actor_id: principal.user,
      event_id: id(),
      event_type: 'llm.cost.session.recorded',
      org_id: 'acme',
      payload: {
        agent_name: options.agent,
        agent_run_id: options.run,
        call_count: options.calls.length,
        session_duration_ms: options.durationMs,
        total_cost: { input_cost_usd: input, output_cost_usd: output, total_cost_usd: cost },
        total_token_usage: { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
      },
      schema_version: '2.0',
      source: 'golden-app@1.0.0',
      ...(principal.tags === undefined ? {} : { tags: principal.tags }),
      team_id: principal.team,
      timestamp: stamp(options.day, options.time),
      trace_id: traceOf(options.run),
    }),
  );
}

/**
 * The golden events, in file order. Known figures:
 * - `billing-agent` (bob, team billing): one gpt-4o call a day on March 1..8 ($0.01 each, 800 ms),
 *   and on March 9 run `run-billing-burst` with 4 calls ($0.05): a spike of the day, the agent, gpt-4o and bob.
 * - root run `run-support-1` (`support-agent`, alice, team search, tag env=prod) on March 9:
 *   own work $0.0033325 (plan $0.0021, draft $0.0012325), nested run `run-research-1`
 *   (`researcher`: 3 search calls to claude-sonnet-4-20250514 of $0.00375 each), and an unpriced call
 *   to `my-finetune-llama-3-70b-instruct-2026-02` without latency.
 */
export function goldenEvents(): CostEvent[] {
  sequence = 0;
  const events: CostEvent[] = [];
  const billing = (day: number, run: string, input: number, output: number, latencyMs: number, time?: string): Call => ({
    day,
    ...(time === undefined ? {} : { time }),
    agent: 'billing-agent',
    run,
    scope: 'billing-agent/invoice',
    model: 'gpt-4o',
    input,
    output,
    inputTokens: 2000,
    outputTokens: 500,
    user: 'bob',
    team: 'billing',
    latencyMs,
  });
  for (let day = 1; day <= 8; day += 1) {
    const call = billing(day, `run-billing-${day}`, 0.005, 0.005, 800 + day * 10);
    events.push(
      token(call),
      session({ day, time: '12:00:01.000000', run: call.run, agent: 'billing-agent', calls: [call], durationMs: 900, principal: call }),
    );
  }
  const burst = [0.004, 0.0065, 0.002, 0.0025].map((input, index) =>
    billing(9, 'run-billing-burst', input, 0.01, 1200 + index * 450.5, `09:0${index}:00.000000`),
  );
  for (const call of burst) events.push(token(call));
  events.push(
    session({
      day: 9,
      time: '09:05:00.000000',
      run: 'run-billing-burst',
      agent: 'billing-agent',
      calls: burst,
      durationMs: 4321,
      principal: burst[0] as Call,
    }),
  );
  const alice = { user: 'alice', team: 'search', tags: { env: 'prod' } };
  const support: Call[] = [
    {
      day: 9,
      time: '10:00:01.000000',
      agent: 'support-agent',
      run: 'run-support-1',
      scope: 'support-agent/plan',
      model: 'gpt-4o',
      input: 0.0015,
      output: 0.0006,
      inputTokens: 500,
      outputTokens: 200,
      latencyMs: 640.25,
      ...alice,
    },
    {
      day: 9,
      time: '10:00:02.000000',
      agent: 'support-agent',
      run: 'run-support-1',
      scope: 'support-agent/draft',
      model: 'gpt-4o',
      input: 0.0006325,
      output: 0.0006,
      inputTokens: 253,
      outputTokens: 60,
      latencyMs: 1210,
      ...alice,
    },
    {
      day: 9,
      time: '10:00:03.000000',
      agent: 'support-agent',
      run: 'run-support-1',
      scope: 'support-agent/classify',
      model: 'my-finetune-llama-3-70b-instruct-2026-02',
      provider: 'acme',
      input: 0,
      output: 0,
      inputTokens: 40,
      outputTokens: 2,
      unpriced: true,
      ...alice,
    },
    ...[0, 1, 2].map((index) => ({
      day: 9,
      time: `10:00:0${4 + index}.000000`,
      agent: 'researcher',
      run: 'run-research-1',
      parentRun: 'run-support-1',
      scope: 'support-agent/researcher/search',
      model: 'claude-sonnet-4-20250514',
      provider: 'anthropic',
      input: 0.00125,
      output: 0.0025,
      inputTokens: 500,
      outputTokens: 250,
      latencyMs: 2000 + index * 125.125,
      ...alice,
    })),
  ];
  for (const call of support) events.push(token(call));
  events.push(
    session({
      day: 9,
      time: '10:00:08.000000',
      run: 'run-support-1',
      agent: 'support-agent',
      calls: support,
      durationMs: 7890,
      principal: alice,
    }),
  );
  return events;
}

/** Writes {@link goldenEvents} as JSONL to `path`. */
export function writeGoldenEvents(path: string): void {
  writeFileSync(
    path,
    goldenEvents()
      .map((event) => `${serializeEvent(event)}\n`)
      .join(''),
  );
}
