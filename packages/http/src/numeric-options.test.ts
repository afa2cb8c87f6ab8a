import { describe, expect, it } from 'vitest';
import { createCostEndpoint } from './cost-endpoint.js';
import { LiveCostLedger } from './live-cost-ledger.js';
import { RequestCostRecorder } from './request-cost-recorder.js';

// Every public numeric option of the package, checked when its owner is made: undefined is the
// default, anything out of range throws naming the option instead of silently becoming the default.

/** What an option takes: a count ≥ 1 or a timer duration in milliseconds ≥ 1. */
type Kind = 'count' | 'millis';

interface OptionRow {
  owner: string;
  option: string;
  kind: Kind;
  make: (value: unknown) => void;
}

const OPTIONS: readonly OptionRow[] = [
  {
    owner: 'RequestCostRecorder',
    option: 'maxOpenRequests',
    kind: 'count',
    make: (value) => void new RequestCostRecorder({ maxOpenRequests: value as number }),
  },
  {
    owner: 'createCostEndpoint',
    option: 'budgetTimeoutMs',
    kind: 'millis',
    make: (value) => void createCostEndpoint({ ledger: new LiveCostLedger(), authorize: () => true, budgetTimeoutMs: value as number }),
  },
];

const MAX_TIMER = 2_147_483_647;
const ALWAYS_REFUSED: readonly unknown[] = [NaN, Infinity, -Infinity, -1, '100', null];
const REFUSED: Record<Kind, readonly unknown[]> = {
  count: [...ALWAYS_REFUSED, 0, 1.5, 2 ** 53],
  millis: [...ALWAYS_REFUSED, 0, 0.5, MAX_TIMER + 1],
};
const ACCEPTED: Record<Kind, readonly unknown[]> = {
  count: [undefined, 1, 3, Number.MAX_SAFE_INTEGER],
  millis: [undefined, 1, 250.5, MAX_TIMER],
};
const ALLOWED: Record<Kind, string> = {
  count: 'an integer ≥ 1',
  millis: 'a number of milliseconds from 1 to 2147483647',
};

const cases = (values: Record<Kind, readonly unknown[]>): (OptionRow & { value: unknown; label: string })[] =>
  OPTIONS.flatMap((row) => values[row.kind].map((value) => ({ ...row, value, label: String(value) })));

describe('numeric options', () => {
  it.each(cases(REFUSED))('$owner $option refuses $label with a CostspanError naming it', ({ option, kind, make, value }) => {
    expect(() => make(value)).toThrow(
      expect.objectContaining({
        name: 'CostspanError',
        code: 'invalid_argument',
        field: option,
        message: expect.stringMatching(new RegExp(`^${option} must be ${ALLOWED[kind]}; got `)),
      }),
    );
  });

  it.each(cases(ACCEPTED))('$owner $option accepts $label', ({ make, value }) => {
    expect(() => make(value)).not.toThrow();
  });
});
