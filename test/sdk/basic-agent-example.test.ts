import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCostEvent } from '@costspan/sdk';

// `npm run example` as a new user sees it: the built example in its own process.
const example = fileURLToPath(new URL('../../examples/basic-agent/dist/main.js', import.meta.url));
let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'costspan-example-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

describe('examples/basic-agent', () => {
  it('prints a plain answer line, an aligned tree and totals equal to the events it wrote', () => {
    const eventsPath = join(directory, 'events.jsonl');
    const environment: NodeJS.ProcessEnv = { ...process.env };
    delete environment.INIT_CWD;
    delete environment.COSTSPAN_EVENTS_FILE;
    const result = spawnSync(process.execPath, [example, eventsPath], {
      cwd: directory,
      env: environment,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.split('\n');
    // No puzzling answer: the simulated reply says what it is.
    expect(lines[0]).toBe('answer: (simulated gpt-4o reply, 600 output tokens)');
    expect(result.stdout).not.toContain('answer to:');

    const tree = lines.slice(2, lines.indexOf('', 2));
    expect(tree).toHaveLength(14);
    expect(tree[0]).toMatch(/^invoke_agent research-assistant /);
    // Aligned: every amount starts in one column, and every decimal point sits in one column.
    const dollarColumns = new Set(tree.map((line) => line.indexOf(' $') + 1));
    const pointColumns = new Set(tree.map((line) => line.indexOf('.', line.indexOf('$'))));
    expect(dollarColumns.size).toBe(1);
    expect(pointColumns.size).toBe(1);
    // The nested summariser, started through the tracer, hangs under the root.
    expect(tree).toContainEqual(expect.stringMatching(/^ {2}invoke_agent summariser /));

    const events = readFileSync(eventsPath, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => parseCostEvent(line));
    const sessions = events.filter((event) => event.event_type === 'llm.cost.session.recorded');
    expect(sessions).toHaveLength(1);
    const total = (sessions[0]?.payload as { total_cost: { total_cost_usd: number } }).total_cost.total_cost_usd;
    expect(result.stdout).toContain(`total $${String(total)} over 9 model calls`);
    expect(tree[0]).toContain(`$${String(total)}`);
    expect(result.stdout).toContain(`${events.length} cost events written to ${eventsPath} (dropped 0, failed 0)`);
  });
});
