import { getRandomValues } from 'node:crypto';

// Crockford's base32, as ULIDs use it.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_DIGITS = 16;
const ALPHABET_CODES = Uint16Array.from(ALPHABET, (character) => character.charCodeAt(0));
const TIME_DIGITS = 10;

/**
 * Returns a ULID generator, monotonic within a millisecond as event ids must be (the `ulid`
 * package's `monotonicFactory` semantics): a new millisecond draws 80 random bits from a
 * cryptographic source, 4 KiB at a time; later ids in the same millisecond add one to the random
 * part. The time part is encoded once per millisecond, the random part kept as digits, so an id
 * costs a few string operations.
 *
 * @param timeMs - the id's time; default `Date.now()`. An earlier time than the last id's keeps the last one's, so ids never go back.
 */
export function createEventIdGenerator(): (timeMs?: number) => string {
  const digits = new Uint8Array(RANDOM_DIGITS);
  const pool = new Uint8Array(4096);
  let poolOffset = pool.length;
  let lastTime = -1;
  let timePart = '';
  let randomPart = '';
  const draw = (): void => {
    if (poolOffset + RANDOM_DIGITS > pool.length) {
      getRandomValues(pool);
      poolOffset = 0;
    }
    // One byte per digit, its low 5 bits: uniform over the 32 symbols (256 is a multiple of 32).
    for (let index = 0; index < RANDOM_DIGITS; index += 1) digits[index] = (pool[poolOffset++] as number) & 31;
  };
  const increment = (): void => {
    for (let index = RANDOM_DIGITS - 1; index >= 0; index -= 1) {
      const digit = digits[index] as number;
      if (digit < 31) {
        digits[index] = digit + 1;
        return;
      }
      digits[index] = 0;
    }
    // 2^80 ids in one millisecond: not reachable in practice; wrap as a fresh draw would.
  };
  const codes = new Uint16Array(RANDOM_DIGITS);
  // One flat string from the digits' character codes, not sixteen one-character concatenations.
  const render = (): string => {
    for (let index = 0; index < RANDOM_DIGITS; index += 1) codes[index] = ALPHABET_CODES[digits[index] as number] as number;
    return String.fromCharCode.apply(null, codes as unknown as number[]);
  };
  return (timeMs?: number) => {
    const time = Math.floor(timeMs ?? Date.now());
    if (time > lastTime) {
      lastTime = time;
      timePart = encodeTime(time);
      draw();
    } else {
      increment();
    }
    randomPart = render();
    return timePart + randomPart;
  };
}

function encodeTime(time: number): string {
  let text = '';
  let rest = time;
  for (let index = 0; index < TIME_DIGITS; index += 1) {
    text = (ALPHABET[rest % 32] as string) + text;
    rest = Math.floor(rest / 32);
  }
  return text;
}
