import type { CostEvent } from '../events/cost-event.js';

/** A valid session event numbered `index` (its id and run id follow it), for export tests. */
export function sampleEvent(index: number): CostEvent {
  return {
    schema_version: '2.0',
    event_id: `01HW4Z3RXVP8Q2M6T9KB${String(index).padStart(6, '0')}`,
    event_type: 'llm.cost.session.recorded',
    timestamp: '2026-03-04T14:32:11.042817Z',
    source: 'test@1.0.0',
    payload: {
      total_cost: { input_cost_usd: 0, output_cost_usd: 0, total_cost_usd: 0 },
      total_token_usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
      call_count: 0,
      agent_run_id: `run-${index}`,
    },
  };
}
