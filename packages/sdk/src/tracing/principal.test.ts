import { describe, expect, it } from 'vitest';
import { createHarness } from '../__fixtures__/harness.js';
import { parseCostEvent, serializeEvent } from '../events/cost-event.js';
import { CostTracker } from '../events/cost-tracker.js';
import { mergePrincipals, principalFromAttributes, principalToAttributes, validatePrincipal } from './principal.js';

// JSON.parse makes `__proto__` an own key, as a principal read from a request body would have it.
const tags = JSON.parse('{"__proto__":"p","constructor":"c","prototype":"t","env":"prod"}') as Record<string, string>;

describe('every principal key survives', () => {
  it('validation, merging and span attributes keep __proto__, constructor and prototype as plain keys', () => {
    const principal = validatePrincipal({ userId: 'ann', tags });
    expect(Object.keys(principal.tags ?? {})).toEqual(['__proto__', 'constructor', 'env', 'prototype']);
    const merged = mergePrincipals({ tags: { env: 'dev', team: 'x' } }, principal);
    expect(Object.keys(merged.tags ?? {})).toEqual(['__proto__', 'constructor', 'env', 'prototype', 'team']);
    expect(merged.tags?.env).toBe('prod');
    const back = principalFromAttributes(principalToAttributes(merged));
    expect(Object.entries(back?.tags ?? {})).toEqual(Object.entries(merged.tags ?? {}));
    expect(({} as Record<string, unknown>).p).toBeUndefined();
  });

  it('a __proto__ tag key reaches the events, their lines and their attribution targets', async () => {
    const tracker = new CostTracker();
    const harness = createHarness({ listeners: [tracker] });
    harness.tracer.agentRun('tagged', { principal: { userId: 'ann', tags } }, (run) =>
      run.step('s', (step) => step.setCost({ inputUsd: 0.001, outputUsd: 0 })),
    );
    await harness.flush();
    const [token] = harness.events.getEvents('llm.cost.token.recorded');
    expect(Object.keys(token?.tags ?? {})).toEqual(['__proto__', 'constructor', 'env', 'prototype']);
    expect(token?.tags?.['__proto__']).toBe('p');
    const line = serializeEvent(token!);
    expect(line).toContain('"tags":{"__proto__":"p","constructor":"c","env":"prod","prototype":"t"}');
    expect(Object.keys(parseCostEvent(line).tags ?? {})).toEqual(['__proto__', 'constructor', 'env', 'prototype']);
    const targets = harness.events.getEvents('llm.cost.attributed').map((event) => event.payload.attribution_target);
    expect(targets).toEqual(['user:ann', 'tag:__proto__=p', 'tag:constructor=c', 'tag:env=prod', 'tag:prototype=t']);
    expect(tracker.summary().byPrincipal['tag:__proto__=p']?.totalCostUsd).toBe(0.001);
  });
});
