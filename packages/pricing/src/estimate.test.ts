import { CostspanError, usdToPico } from '@costspan/core';
import { describe, expect, it } from 'vitest';
import { createDefaultPriceSource } from './composite-price-source.js';
import { NON_OPENAI_SAFETY_FACTOR, estimateCost, estimateTokens } from './estimate.js';

const NOW = Date.parse('2026-03-04T14:32:11Z');

describe('estimateTokens', () => {
  it('counts OpenAI models exactly with their encoding', async () => {
    expect(await estimateTokens('Hello, world!', 'gpt-4o')).toBe(4);
    expect(await estimateTokens('Hello, world!', 'gpt-4')).toBe(4);
    // Special-token text is counted as text, not refused.
    expect(await estimateTokens('<|endoftext|>', 'gpt-4o')).toBeGreaterThan(1);
  });

  it('applies the safety factor to other models, rounding up', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
    const exact = await estimateTokens(text, 'gpt-4o');
    expect(await estimateTokens(text, 'claude-sonnet-4-5')).toBe(Math.ceil(exact * NON_OPENAI_SAFETY_FACTOR));
    expect(await estimateTokens(text, 'gemini-2.5-pro', { safetyFactor: 1.1 })).toBe(Math.ceil(exact * 1.1));
    expect(await estimateTokens(text, 'openai/gpt-4o')).toBe(exact);
  });

  it('counts chat messages with their framing', async () => {
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: [{ type: 'text', text: 'Hello' }, { type: 'image_url' }] },
    ];
    const content = (await estimateTokens('You are terse.', 'gpt-4o')) + (await estimateTokens('Hello', 'gpt-4o'));
    const roles = (await estimateTokens('system', 'gpt-4o')) + (await estimateTokens('user', 'gpt-4o'));
    expect(await estimateTokens(messages, 'gpt-4o')).toBe(content + roles + 3 * 2 + 3);
  });

  it('refuses bad input with typed errors', async () => {
    await expect(estimateTokens('x', '')).rejects.toMatchObject({ code: 'invalid_name', field: 'model' });
    await expect(estimateTokens(42 as never, 'gpt-4o')).rejects.toMatchObject({ code: 'invalid_argument', field: 'input' });
    await expect(estimateTokens('x', 'claude-3', { safetyFactor: Number.NaN })).rejects.toMatchObject({ field: 'safetyFactor' });
  });

  it('never quotes prompt text in an error: field and type only', async () => {
    const secret = 'SECRET-PROMPT-TEXT';
    const cases: Array<[() => Promise<unknown>, string, string]> = [
      [
        () => estimateTokens([{ role: 'user', content: { text: secret } as never }], 'gpt-4o'),
        'input[0].content',
        'input[0].content must be a string or parts array; got object',
      ],
      [() => estimateTokens([secret] as never, 'gpt-4o'), 'input[0]', 'input[0] must be a message with a string role; got string'],
      [() => estimateTokens({ prompt: secret } as never, 'gpt-4o'), 'input', 'input must be a string or an array of messages; got object'],
      // Arguments in the wrong place: the prompt where a model or a count belongs.
      [
        () => estimateTokens('gpt-4o', [{ role: 'user', content: secret }] as never),
        'model',
        'model must be a non-empty model id; got array',
      ],
      [
        () => estimateCost('gpt-4o', 'hello', secret as never),
        'maxOutputTokens',
        'maxOutputTokens must be a non-negative integer; got string',
      ],
      [
        () => estimateTokens('x', 'claude-3', { safetyFactor: secret as never }),
        'safetyFactor',
        'safetyFactor must be a finite number > 0; got string',
      ],
    ];
    for (const [call, field, message] of cases) {
      const error = await call().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(CostspanError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ field, message });
      expect((error as CostspanError).value).toBeUndefined();
      expect(JSON.stringify({ ...(error as object), message: (error as Error).message, stack: (error as Error).stack })).not.toContain(
        secret,
      );
    }
  });

  it('still quotes harmless values: numbers and empty names', async () => {
    await expect(estimateTokens('x', 'claude-3', { safetyFactor: -1 })).rejects.toMatchObject({
      message: 'safetyFactor must be a finite number > 0; got -1',
      value: -1,
    });
    await expect(estimateTokens('x', ' ')).rejects.toMatchObject({ message: 'model must be a non-empty model id; got " "' });
  });
});

describe('estimateCost', () => {
  it('prices the estimate as an upper bound: all output at the output rate', async () => {
    const estimate = await estimateCost('gpt-4o', 'Hello, world!', 1000, { timestamp: NOW });
    expect(estimate.status).toBe('priced');
    if (estimate.status !== 'priced') return;
    expect(estimate.inputTokens).toBe(4);
    expect(estimate.outputTokens).toBe(1000);
    // 4 × $2.50 + 1000 × $10 per million
    expect(estimate.total).toBe(usdToPico('0.01001'));
    expect(estimate.tier.model).toBe('gpt-4o');
  });

  it('uses the given source and timestamp (o3 before its price cut)', async () => {
    const source = createDefaultPriceSource();
    const estimate = await estimateCost('o3', 'Hi', 100, { source, timestamp: Date.parse('2025-06-01') });
    expect(estimate.status === 'priced' && estimate.total).toBe(usdToPico('0.00401'));
  });

  it('returns unpriced for an unknown model', async () => {
    expect(await estimateCost('no-such-model', 'Hi', 10)).toMatchObject({ status: 'unpriced', code: 'unknown_model' });
  });

  it.each([-1, 1.5, Number.NaN])('refuses maxOutputTokens %s', async (maxOutputTokens) => {
    const error = await estimateCost('gpt-4o', 'Hi', maxOutputTokens).catch((caught: unknown) => caught);
    expect(CostspanError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'invalid_tokens', field: 'maxOutputTokens' });
  });
});
