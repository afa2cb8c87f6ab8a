import { describe, expect, it } from 'vitest';
import { BoundedMemo } from './bounded-memo.js';
import { canonicalProvider, nameCandidates } from './model-name.js';

describe('canonicalProvider', () => {
  it.each([
    ['gcp.gemini', 'google'],
    ['gcp.vertex_ai', 'google'],
    ['aws.bedrock', 'aws'],
    ['azure.ai.openai', 'azure'],
    ['x_ai', 'x-ai'],
    ['mistral_ai', 'mistral'],
    ['DeepSeek', 'deepseek'],
    ['groq', 'groq'],
    ['some-proxy', 'some-proxy'],
    ['', undefined],
  ])('%s → %s', (name, expected) => {
    expect(canonicalProvider(name)).toBe(expected);
  });
});

describe('nameCandidates', () => {
  it('tries the name as given first, then prefixes, Bedrock ids and dates', () => {
    expect(nameCandidates('us.anthropic.claude-3-5-sonnet-20240620-v1:0', undefined)).toEqual([
      { provider: undefined, model: 'us.anthropic.claude-3-5-sonnet-20240620-v1:0' },
      { provider: 'aws', model: 'us.anthropic.claude-3-5-sonnet-20240620-v1:0' },
      { provider: 'anthropic', model: 'claude-3-5-sonnet-20240620' },
      { provider: 'anthropic', model: 'claude-3-5-sonnet' },
    ]);
    expect(nameCandidates('openai/gpt-4o-2024-08-06', 'openrouter').slice(0, 3)).toEqual([
      { provider: 'openrouter', model: 'openai/gpt-4o-2024-08-06' },
      { provider: 'openrouter', model: 'gpt-4o-2024-08-06' },
      { provider: 'openai', model: 'gpt-4o-2024-08-06' },
    ]);
  });
});

describe('BoundedMemo', () => {
  it('never holds more than its capacity', () => {
    const memo = new BoundedMemo<number>(3);
    for (let index = 0; index < 10; index += 1) memo.set(index % 2 === 0 ? 'a' : 'b', `m${index}`, index);
    expect(memo.size).toBe(3);
    expect(memo.get('b', 'm9')).toBe(9);
    expect(memo.get('a', 'm0')).toBeUndefined();
    memo.set('b', 'm9', 99);
    expect(memo.size).toBe(3);
    memo.clear();
    expect(memo.size).toBe(0);
  });
});
