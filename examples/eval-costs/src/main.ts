import { Writable } from 'node:stream';
import { withCostCap } from '@costspan/budget';
import { setupCostspan, type AgentRun } from '@costspan/sdk';

// An eval loop where each case runs under its own cost cap (SynapseKit's per-case max_cost_usd):
// the call that would pass the cap is refused before it is made, and each case's cost comes back
// with its result. Offline: the "model" is simulated, its calls are priced from the built-in table.

const MAX_USD_PER_CASE = 0.001;

interface EvalCase {
  id: string;
  question: string;
  expected: string;
  /** Research steps the simulated agent takes before it answers. */
  steps: number;
}

const dataset: EvalCase[] = [
  { id: 'capital', question: 'What is the capital of France?', expected: 'Paris', steps: 0 },
  { id: 'arithmetic', question: 'What is 17 * 23?', expected: '391', steps: 1 },
  { id: 'summary', question: 'Summarize the history of the printing press.', expected: 'Gutenberg', steps: 3 },
  { id: 'deep-research', question: 'Compare every LLM pricing model since 2020.', expected: 'tokens', steps: 12 },
];

// Events go nowhere: this example prints its own table.
const costspan = setupCostspan({
  source: 'eval-costs-example@1.0.0',
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

/** Stands in for a model call: reserves first (estimate priced from the prompt and the output cap), then reports usage. */
async function callModel(run: AgentRun, name: string, prompt: string, outputTokens: number): Promise<string> {
  return run.step(name, async (step) => {
    await step.reserve({ model: 'gpt-4o-mini', provider: 'openai', input: prompt, maxOutputTokens: outputTokens });
    step.setModel('gpt-4o-mini', 'openai').setTokenUsage({ input: Math.ceil(prompt.length / 4), output: outputTokens });
    return `(simulated answer to: ${prompt.slice(0, 40)})`;
  });
}

async function answer(run: AgentRun, item: EvalCase): Promise<string> {
  let notes = '';
  for (let index = 0; index < item.steps; index += 1) {
    notes += await callModel(run, `research-${index}`, `${item.question} ${'source text '.repeat(150)}`, 150);
  }
  const reply = await callModel(run, 'answer', `${item.question}\n${notes}`, 60);
  return `${reply} ${item.expected}`;
}

console.log(`case           result         cost (USD)   cap ${MAX_USD_PER_CASE}`);
let total = 0;
for (const item of dataset) {
  const outcome = await withCostCap({ maxUsd: MAX_USD_PER_CASE }, (budget) =>
    costspan.tracer.agentRun('eval-case', { budget }, (run) => answer(run, item)),
  );
  total += outcome.costUsd;
  const verdict = outcome.refusal !== undefined ? 'over the cap' : outcome.result?.includes(item.expected) === true ? 'pass' : 'fail';
  console.log(`${item.id.padEnd(15)}${verdict.padEnd(15)}${outcome.costUsd.toFixed(6).padStart(10)}`);
}
console.log(`${'total'.padEnd(30)}${total.toFixed(6).padStart(10)}`);
await costspan.shutdown();
