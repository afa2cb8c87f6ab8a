import { describe, expect, it } from 'vitest';
import { CustomPriceSource, type CustomModelPrice } from './custom-price-source.js';
import type { PriceRequest } from './price-source.js';
import { call, pico, priced, refusal } from './__fixtures__/price-fixtures.js';

// Custom price rules against hand arithmetic: prices are USD per million tokens.

describe('lookup', () => {
  it('prefers a provider-specific price, applies a provider-less one to any provider', () => {
    const source = new CustomPriceSource({
      prices: [
        { model: 'shared-llm', inputPerMillion: 1, outputPerMillion: 0 },
        { model: 'shared-llm', provider: 'acme', inputPerMillion: 3, outputPerMillion: 0 },
      ],
    });
    expect(priced(source.price(call('shared-llm', 1_000_000, 0, { provider: 'acme' }))).cost.input).toBe(pico('3'));
    const other = priced(source.price(call('shared-llm', 1_000_000, 0, { provider: 'other' })));
    expect(other.cost.input).toBe(pico('1'));
    expect(other.tier.system).toBe('other');
    expect(priced(source.price(call('shared-llm', 1_000_000, 0))).cost.input).toBe(pico('1'));
    expect(priced(source.price(call('shared-llm', 1_000_000, 0))).tier.system).toBe('custom');
    expect(priced(source.price(call('shared-llm', 1, 0, { provider: 'acme' }))).tier).toMatchObject({
      system: 'acme',
      data_source: 'custom',
      model: 'shared-llm',
    });
    // Never throws, even for a request that is not an object, with or without prices registered.
    expect(new CustomPriceSource().price(null as never)).toMatchObject({ status: 'unpriced' });
    expect(new CustomPriceSource().price(undefined as never)).toMatchObject({ status: 'unpriced' });
    expect(source.price(null as never)).toMatchObject({ status: 'unpriced' });
    // A provider named only in the model id (`openai/…`) is the system of a provider-less price.
    expect(priced(source.price(call('openai/shared-llm', 1, 0))).tier.system).toBe('openai');
  });

  it('uses a provider-specific price for a call without provider, but not for another provider', () => {
    const unknown: string[] = [];
    const source = new CustomPriceSource({
      prices: [{ model: 'only-acme', provider: 'acme', inputPerMillion: 5, outputPerMillion: 0 }],
      onUnknownModel: (model, provider) => unknown.push(`${provider ?? '-'}/${model}`),
    });
    expect(priced(source.price(call('only-acme', 1_000_000, 0))).cost.input).toBe(pico('5'));
    expect(source.price(call('only-acme', 1, 0, { provider: 'other' }))).toMatchObject({ status: 'unpriced', code: 'unknown_model' });
    expect(unknown).toEqual(['other/only-acme']);
  });

  it('tells onUnknownModel once per model, also when nothing is registered', () => {
    const unknown: string[] = [];
    const source = new CustomPriceSource({ onUnknownModel: (model, provider) => unknown.push(`${provider ?? '-'}/${model}`) });
    expect(source.price(call('nope', 1, 0))).toEqual({
      status: 'unpriced',
      code: 'unknown_model',
      reason: 'no custom price registered for this model',
    });
    source.price(call('nope', 1, 0));
    source.price(call('nope', 1, 0, { provider: 'acme' }));
    expect(unknown).toEqual(['-/nope', 'acme/nope']);
  });

  it('answers a request it cannot read as unpriced, never by throwing', () => {
    const source = new CustomPriceSource({ prices: [{ model: 'm', inputPerMillion: 1, outputPerMillion: 1 }] });
    const hostile = {
      get model(): string {
        throw new Error('boom');
      },
    } as unknown as PriceRequest;
    expect(source.price(hostile)).toEqual({ status: 'unpriced', code: 'source_error', reason: 'pricing failed: boom' });
    expect(source.price({ model: '', usage: { input: 1, output: 1 }, timestamp: 0 })).toMatchObject({ code: 'invalid_request' });
  });

  it('sees a new registration at once, and forgets an unregistered one', () => {
    const source = new CustomPriceSource({ prices: [{ model: 'm', inputPerMillion: 1, outputPerMillion: 0 }] });
    expect(priced(source.price(call('m', 1_000_000, 0))).cost.input).toBe(pico('1'));
    source.register({ model: 'M', inputPerMillion: 2, outputPerMillion: 0 });
    expect(priced(source.price(call('m', 1_000_000, 0))).cost.input).toBe(pico('2'));
    expect(source.size).toBe(1);
    source.register({ model: 'm', provider: 'acme', inputPerMillion: 4, outputPerMillion: 0 });
    expect(source.size).toBe(2);
    expect(source.unregister('m', 'other')).toBe(false);
    expect(source.unregister('unknown')).toBe(false);
    expect(source.unregister(' M ')).toBe(true);
    expect(source.size).toBe(1);
    // The provider-less price is gone; acme's stays and now serves calls without provider.
    expect(priced(source.price(call('m', 1_000_000, 0))).cost.input).toBe(pico('4'));
    expect(source.unregister('m', 'acme')).toBe(true);
    expect(source.size).toBe(0);
    expect(source.price(call('m', 1, 0))).toMatchObject({ code: 'unknown_model' });
    expect(source.unregister('m', 'acme')).toBe(false);
  });
});

describe('registration details', () => {
  it('refuses a price that is not an object, a start that only prints as a date, and names tier fields', () => {
    expect(refusal(() => new CustomPriceSource().register('gpt-4o' as never)).field).toBe('price');
    const lookalike = { toString: () => '2025-01-01' } as unknown as string;
    expect(
      refusal(() => new CustomPriceSource().register({ model: 'm', inputPerMillion: 1, outputPerMillion: 1, startDate: lookalike })).field,
    ).toBe('startDate');
    expect(refusal(() => new CustomPriceSource().register({ model: 'm', inputPerMillion: 1 } as CustomModelPrice)).code).toBe(
      'invalid_price',
    );
    for (const key of [
      'inputPerMillion',
      'outputPerMillion',
      'cacheReadPerMillion',
      'cacheWritePerMillion',
      'cacheWrite1hPerMillion',
    ] as const) {
      const error = refusal(() =>
        new CustomPriceSource().register({
          model: 'm',
          inputPerMillion: 1,
          outputPerMillion: 1,
          tiers: [{ aboveInputTokens: 1, [key]: 'x' }],
        }),
      );
      expect([error.code, error.field]).toEqual(['invalid_price', `tiers[0].${key}`]);
    }
  });

  it('trims the model name it keeps and matches', () => {
    const source = new CustomPriceSource({ prices: [{ model: '  Padded-LLM  ', inputPerMillion: 1, outputPerMillion: 0 }] });
    const result = priced(source.price(call('padded-llm', 1_000_000, 0)));
    expect(result.cost.input).toBe(pico('1'));
    expect(result.tier.model).toBe('Padded-LLM');
  });

  it('answers an empty source with "no custom price" before reading the request, and tells only of readable model names', () => {
    const unknown: unknown[] = [];
    const source = new CustomPriceSource({ onUnknownModel: (model, provider) => unknown.push([model, provider]) });
    expect(source.price({ model: '', usage: { input: 1, output: 1 }, timestamp: 0 })).toMatchObject({ code: 'unknown_model' });
    expect(source.price(null as never)).toMatchObject({ code: 'unknown_model' });
    expect(source.price('gpt-4o' as never)).toMatchObject({ code: 'unknown_model' });
    expect(source.price({ model: 7, usage: { input: 1, output: 1 }, timestamp: 0 } as never)).toMatchObject({ code: 'unknown_model' });
    expect(source.price({ model: 'm', provider: 5, usage: { input: 1, output: 1 }, timestamp: 0 } as never)).toMatchObject({
      code: 'unknown_model',
    });
    expect(unknown).toEqual([
      ['', undefined],
      ['m', undefined],
    ]);
  });
});
