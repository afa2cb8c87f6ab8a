import { diag, DiagLogLevel } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { notice, resetNotices, setNoticeHandler, type CostspanNotice } from './notice.js';

afterEach(() => {
  setNoticeHandler(undefined);
  diag.disable();
  resetNotices();
});

describe('notice', () => {
  it('tells a handler once per cause', () => {
    const seen: CostspanNotice[] = [];
    setNoticeHandler((given) => seen.push(given));
    expect(notice('events_lost', 'lost 3 events')).toBe(true);
    expect(notice('events_lost', 'lost 4 events')).toBe(false);
    expect(notice('unpriced_model:x', 'x is unpriced')).toBe(true);
    expect(seen).toEqual([
      { cause: 'events_lost', message: 'lost 3 events' },
      { cause: 'unpriced_model:x', message: 'x is unpriced' },
    ]);
  });

  it('goes to an installed diag logger instead of stderr', () => {
    const warnings: string[] = [];
    const record = (message: string): void => void warnings.push(message);
    diag.setLogger({ error: record, warn: record, info: record, debug: record, verbose: record }, DiagLogLevel.WARN);
    notice('cause', 'something was lost');
    expect(warnings).toEqual(['costspan: something was lost']);
  });

  it('stops after a bounded number of distinct causes, saying so once', () => {
    const seen: string[] = [];
    setNoticeHandler((given) => seen.push(given.cause));
    for (let index = 0; index < 1500; index += 1) notice(`unpriced_model:m${index}`, 'unpriced');
    expect(seen).toHaveLength(1001);
    expect(seen[999]).toBe('unpriced_model:m999');
    expect(seen[1000]).toBe('notices_suppressed');
  });

  it('never throws when the handler does', () => {
    setNoticeHandler(() => {
      throw new Error('handler failed');
    });
    expect(() => notice('cause', 'message')).not.toThrow();
  });
});
