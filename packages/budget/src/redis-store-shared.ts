import type { BudgetStoreSample } from './budget-store.js';

// What the single-node and the cluster Redis stores share besides the script's calls
// (redis-script-protocol.ts): the history samples' encoding, key patterns, deadlines and the timer that enforces them.

/** A history nobody writes to for 30 days goes (its samples would weigh nothing by then). */
export const HISTORY_TTL_MS: number = 30 * 86_400_000;

/** One history sample as stored in its list: `pico|tokens|at`. */
export function encodeSample(sample: BudgetStoreSample): string {
  return `${sample.pico}|${sample.tokens}|${sample.at}`;
}

/** The samples of a history list, in its order; entries of another shape are skipped. */
export function decodeSamples(values: readonly string[]): BudgetStoreSample[] {
  const samples: BudgetStoreSample[] = [];
  for (const value of values) {
    const match = /^(\d+)\|(\d+)\|(\d+)$/.exec(value);
    if (match !== null) samples.push({ pico: BigInt(match[1]!), tokens: BigInt(match[2]!), at: Number(match[3]) });
  }
  return samples;
}

/**
 * The deadline (epoch ms) of an operation bounded by `timeoutMs`, counted from the start of the
 * guard's call (`startedAt`) when it gave one. A start that is not a time, or lies ahead, counts from now.
 */
export function deadlineOf(timeoutMs: number, startedAt?: number): number {
  const now = Date.now();
  const from = typeof startedAt === 'number' && Number.isFinite(startedAt) && startedAt <= now ? startedAt : now;
  return from + timeoutMs;
}

/** `text` with Redis glob characters escaped, for a SCAN `MATCH` that takes a key prefix literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

/**
 * `promise`, or a rejection with `timedOut()` once `deadline` (epoch ms) passes, whichever comes first
 * (at least 1 ms from now). The one timer of both Redis stores: it never outlives the race.
 */
export async function bounded<T>(promise: Promise<T>, deadline: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), Math.max(1, deadline - Date.now()));
  });
  // The losing promise must not surface as an unhandled rejection later.
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
