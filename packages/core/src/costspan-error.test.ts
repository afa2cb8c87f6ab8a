import { describe, expect, it } from 'vitest';
import { CostspanError, invalidInput } from './costspan-error.js';

describe('CostspanError', () => {
  it('carries code, field, value and cause', () => {
    const cause = new Error('root');
    const error = new CostspanError({ code: 'invalid_tokens', message: 'bad', field: 'usage.input', value: -1, cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('CostspanError');
    expect(error.code).toBe('invalid_tokens');
    expect(error.field).toBe('usage.input');
    expect(error.value).toBe(-1);
    expect(error.cause).toBe(cause);
  });

  it('recognises errors by brand, not by prototype', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('costspan.error')]: true });
    expect(CostspanError.isInstance(foreign)).toBe(true);
    expect(CostspanError.isInstance(new Error('x'))).toBe(false);
    expect(CostspanError.isInstance(null)).toBe(false);
  });

  it('names the field and the value in the message', () => {
    const error = invalidInput('invalid_name', 'name', '', 'a non-empty string');
    expect(error.message).toBe('name must be a non-empty string; got ""');
  });
});
