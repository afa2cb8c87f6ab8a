import { formatPico, parseUsd } from '@costspan/core';
import { parseCostEvent, type CostEvent } from '@costspan/sdk';

/** Options of {@link tokenEvent}: one model call, with every field a report reads. */
export interface TokenEventOptions {
  input: number;
  output: number;
  model?: string;
  timestamp?: string;
  user?: string;
  tags?: Record<string, string>;
  agent?: string;
  run?: string;
  scope?: string;
  /** Written as `payload.latency_ms` when given. */
  latencyMs?: number;
  unpriced?: boolean;
  inputTokens?: number;
  outputTokens?: number;
}

let counter = 0;

/** A valid `llm.cost.token.recorded` event as the SDK writes it (deterministic apart from its id). */
export function tokenEvent(options: TokenEventOptions): CostEvent {
  counter += 1;
  const id = `01HW4Z3RXVP8Q2M6T9KC${String(counter).padStart(6, '0')}`;
  const total = formatPico((parseUsd(String(options.input)) ?? 0n) + (parseUsd(String(options.output)) ?? 0n));
  const agent = options.agent ?? 'agent';
  const inputTokens = options.inputTokens ?? 100;
  const outputTokens = options.outputTokens ?? 50;
  return parseCostEvent(
    JSON.stringify({
      ...(options.user === undefined ? {} : { actor_id: options.user }),
      event_id: id,
      event_type: 'llm.cost.token.recorded',
      payload: {
        agent_name: agent,
        agent_run_id: options.run ?? 'run',
        cost: { input_cost_usd: options.input, output_cost_usd: options.output, total_cost_usd: Number(total) },
        ...(options.latencyMs === undefined ? {} : { latency_ms: options.latencyMs }),
        model: { name: options.model ?? 'gpt-4o', system: 'openai' },
        ...(options.unpriced === true ? { pricing_status: 'unpriced' } : {}),
        scope: options.scope ?? `${agent}/step`,
        token_usage: { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
      },
      schema_version: '2.0',
      source: 'test@1.0.0',
      ...(options.tags === undefined ? {} : { tags: options.tags }),
      timestamp: options.timestamp ?? '2026-03-04T14:32:11.042817Z',
    }),
  );
}
