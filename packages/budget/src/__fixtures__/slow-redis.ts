import type { Cluster, Redis } from 'ioredis';

/**
 * Makes every round trip of `client` take about `pauseMs` on a real server: a command sent while the
 * server runs pauses it (`signal('SIGSTOP')`) and resumes it (`SIGCONT`) `pauseMs` later; commands sent
 * meanwhile wait for that pause to end. So each round trip answers within a timeout longer than
 * `pauseMs`, while a call of several round trips does not: the case a per-round-trip timeout misses and
 * a hung server (SIGSTOP and no SIGCONT) does not show. Returns a function that restores the client
 * and resumes the server.
 */
export function slowEveryRoundTrip(client: Redis | Cluster, signal: (signal: NodeJS.Signals) => void, pauseMs: number): () => void {
  // ioredis sends every command through `sendCommand` (a Cluster's before it picks the node): the one
  // place to see a round trip begin without changing what is sent.
  const target = client as unknown as { sendCommand: (...args: unknown[]) => unknown };
  const original = target.sendCommand;
  let timer: NodeJS.Timeout | undefined;
  const resume = (): void => {
    clearTimeout(timer);
    timer = undefined;
    signal('SIGCONT');
  };
  target.sendCommand = function (this: unknown, ...args: unknown[]): unknown {
    if (timer === undefined) {
      signal('SIGSTOP');
      timer = setTimeout(resume, pauseMs);
    }
    return original.apply(this, args);
  };
  return () => {
    target.sendCommand = original;
    resume();
  };
}
