import fc from 'fast-check';
import type { CostEvent } from '@costspan/sdk';

// JSON-like values with the odd corners of toAnyValue: non-finite numbers, -0, values beyond int64,
// undefined entries, `__proto__` keys, non-ASCII and lone surrogates, strings past one byte of length.
const leaf = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ minLength: 40, maxLength: 300 }),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  // Integers of 16 to 21 digits: their JSON text read digit by digit would round more than once.
  fc.bigInt({ min: 10n ** 15n, max: 10n ** 21n }).map((value) => Number(value)),
  fc.constantFrom(
    0,
    -0,
    2 ** 53,
    -(2 ** 63),
    2 ** 63,
    2 ** 64,
    Number.MAX_VALUE,
    // 17 significant digits, which digit-by-digit reading rounds wrong.
    2821.6644372204037,
    -19992.334358838358,
    Number.NaN,
    Infinity,
    -Infinity,
    1e-12,
    null,
    undefined,
  ),
);
const key = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', '0', '12', 'constructor', 'event.name', 'é✓'));
const value = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 6 }),
  ),
})).value;
const hex = (length: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
/** Cost events with the odd corners of toAnyValue in payload and envelope; ids mostly ones a record links. */
export const randomEvent: fc.Arbitrary<CostEvent> = fc.record(
  {
    actor_id: fc.oneof(fc.string(), value),
    event_id: fc.string(),
    event_type: fc.constantFrom('llm.cost.token.recorded', 'llm.cost.session.recorded', 'llm.cost.attributed'),
    payload: value,
    schema_version: fc.constant('2.0'),
    tags: fc.dictionary(key, fc.string()),
    // Mostly ids a record links; sometimes not (kept as attributes, values as they are).
    span_id: fc.oneof(hex(16), hex(16), fc.string(), fc.integer()),
    trace_id: fc.oneof(hex(32), hex(32), fc.string({ maxLength: 40 })),
    timestamp: fc
      .date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2400-01-01T00:00:00Z'), noInvalidDate: true })
      .chain((date) =>
        fc.integer({ min: 0, max: 999_999 }).map((micros) => `${date.toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}Z`),
      ),
  },
  { requiredKeys: ['event_type', 'timestamp', 'payload'] },
) as unknown as fc.Arbitrary<CostEvent>;
