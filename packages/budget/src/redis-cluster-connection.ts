import { Cluster, type ClusterNode } from 'ioredis';
import { CostspanError } from '@costspan/core';
import { REDIS_BUDGET_SCRIPT, REDIS_BUDGET_SCRIPT_SHA } from './redis-budget-script.js';
import { bounded } from './redis-store-shared.js';

/** How {@link ClusterConnection.script} runs one slot group's script. */
export interface ScriptRun {
  /** Epoch ms by which the answer (and the replicas' acknowledgement) must be in. */
  deadline: number;
  /** Replicas that must acknowledge the script's writes (`WAIT`); 0 for none. */
  replicas: number;
  /** Set once the script may have reached a master (it may run even if we stop waiting). */
  sent: { value: boolean };
}

/**
 * The ioredis Cluster client of a {@link RedisClusterBudgetStore}, with every
 * operation bounded by a deadline. Scripts go in a pipeline to the master of
 * their slot, followed by `WAIT` on the same connection when a spend must be
 * replicated before it counts as booked. The client it creates re-sends a script
 * only on replies meaning it did not run (`MOVED`, `ASK`, `CLUSTERDOWN`), never
 * after a lost connection (`retryDelayOnFailover: 0`), so nothing is booked twice.
 */
export class ClusterConnection {
  readonly client: Cluster;
  /**
   * Second client for commits that WAIT: Redis blocks a connection during WAIT, so a replica that
   * is slow (or missing after a failover) must not hold up reserves and reads queued behind it.
   */
  private waitClient: Cluster | undefined;
  private readonly ownsClient: boolean;
  private readonly timeoutMs: number;
  private readonly onError: (error: unknown) => void;
  private closed = false;
  /** Masters (`host:port`) whose replicas did not confirm a WAIT, until when (epoch ms) not to wait on them. */
  private readonly unconfirmedUntil = new Map<string, number>();
  /** One wait per client and connection attempt, however many operations queue behind it. */
  private readonly readyWaits = new Map<Cluster, Promise<void>>();

  constructor(options: {
    client?: Cluster;
    nodes?: ClusterNode[];
    timeoutMs: number;
    connectTimeoutMs: number;
    /** Replicas commits WAIT for; when > 0 the second client connects now, not at the first settle. */
    replicas: number;
    onError: (error: unknown) => void;
  }) {
    this.timeoutMs = options.timeoutMs;
    this.onError = options.onError;
    if (options.client !== undefined) {
      this.client = options.client;
      this.ownsClient = false;
      if (options.replicas > 0) this.waiting();
      return;
    }
    this.client = new Cluster(options.nodes ?? [], {
      // Queue a command for a node whose connection is still opening (ioredis connects to each node
      // lazily, and to a promoted replica only after a failover): every operation is bounded by its
      // deadline anyway, and a node that is gone rejects at once.
      enableOfflineQueue: true,
      scaleReads: 'master',
      // ioredis re-sends a command whose connection closed (it may have run) after this delay; 0 turns
      // that off, so a spend is never booked twice. MOVED/ASK/CLUSTERDOWN (it did not run) are still followed.
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: options.connectTimeoutMs,
      clusterRetryStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, 2000),
      // A retried script could book a spend twice: never retry a sent command.
      redisOptions: { maxRetriesPerRequest: 0, connectTimeout: options.connectTimeoutMs },
    });
    this.ownsClient = true;
    let reported = false;
    this.client.on('ready', () => {
      reported = false;
    });
    const report = (error: unknown): void => {
      if (reported || this.closed) return;
      reported = true;
      options.onError(error);
    };
    this.client.on('error', report);
    this.client.on('node error', report);
    if (options.replicas > 0) this.waiting();
  }

  /** Runs the budget script on the master of `keys`' slot (EVALSHA, EVAL after NOSCRIPT), then WAITs for replicas. */
  async script(keys: readonly string[], args: readonly string[], run: ScriptRun): Promise<unknown> {
    this.assertOpen();
    const client = run.replicas > 0 ? this.waiting() : this.client;
    await this.ready(client, run.deadline);
    try {
      return await this.pipelined(client, false, keys, args, run);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      // A promoted replica has no scripts cached (the cache is not replicated); nothing ran.
      return await this.pipelined(client, true, keys, args, run);
    }
  }

  private waiting(): Cluster {
    if (this.waitClient === undefined) {
      const client = this.client.duplicate();
      let reported = false;
      client.on('ready', () => {
        reported = false;
      });
      const report = (error: unknown): void => {
        if (reported || this.closed) return;
        reported = true;
        this.onError(error);
      };
      client.on('error', report);
      client.on('node error', report);
      this.waitClient = client;
    }
    return this.waitClient;
  }

  /** One plain command, bounded by `deadline`. */
  async command<T>(what: string, deadline: number, send: (client: Cluster) => Promise<T>): Promise<T> {
    this.assertOpen();
    await this.ready(this.client, deadline);
    return await bounded(send(this.client), deadline, () => this.noAnswer(what));
  }

  /** Every key matching `pattern`, from every master. */
  async scanKeys(pattern: string, deadline: number): Promise<string[]> {
    this.assertOpen();
    await this.ready(this.client, deadline);
    const perMaster = await Promise.all(
      this.client.nodes('master').map(async (node) => {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, found] = await bounded(node.scan(cursor, 'MATCH', pattern, 'COUNT', 500), deadline, () => this.noAnswer('SCAN'));
          keys.push(...found);
          cursor = next;
        } while (cursor !== '0');
        return keys;
      }),
    );
    return perMaster.flat();
  }

  /** Deletes every key matching `pattern` on every master (keys of several slots: one UNLINK each). */
  async scanDelete(pattern: string, deadline: number): Promise<void> {
    const keys = await this.scanKeys(pattern, deadline);
    await Promise.all(keys.map((key) => bounded(this.client.unlink(key), deadline, () => this.noAnswer('UNLINK'))));
  }

  /** Closes the client it created (one passed in stays open). Idempotent; never rejects. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const owned = [...(this.waitClient === undefined ? [] : [this.waitClient]), ...(this.ownsClient ? [this.client] : [])];
    // One deadline for both clients (each QUITs every node in parallel): a hung cluster holds close one timeout.
    const deadline = Date.now() + timeoutMs;
    await Promise.all(
      owned.map(async (client) => {
        try {
          await bounded(client.quit(), deadline, () => new Error('QUIT timed out'));
        } catch {
          client.disconnect();
        }
      }),
    );
  }

  private async pipelined(
    client: Cluster,
    useEval: boolean,
    keys: readonly string[],
    args: readonly string[],
    run: ScriptRun,
  ): Promise<unknown> {
    const pipeline = client.pipeline();
    if (useEval) pipeline.eval(REDIS_BUDGET_SCRIPT, keys.length, ...keys, ...args);
    else pipeline.evalsha(REDIS_BUDGET_SCRIPT_SHA, keys.length, ...keys, ...args);
    // Half the time left: Redis may time a WAIT out up to one server tick (100 ms) late.
    const waitMs = Math.max(1, Math.floor((run.deadline - Date.now()) / 2));
    // A master whose replicas just failed to confirm (none after a failover, or stalled) is not
    // waited on again for a while: each WAIT would block the commit connection for its whole timeout.
    const master = this.masterOf(keys[0] ?? '', client);
    const skipWait = run.replicas > 0 && master !== undefined && (this.unconfirmedUntil.get(master) ?? 0) > Date.now();
    if (run.replicas > 0 && !skipWait) pipeline.call('WAIT', String(run.replicas), String(waitMs));
    run.sent.value = true;
    const what = useEval ? 'EVAL' : 'EVALSHA';
    const results = await bounded(pipeline.exec(), run.deadline, () => this.noAnswer(what, keys[0]));
    const [scriptError, reply] = results?.[0] ?? [new Error('empty pipeline reply')];
    if (scriptError instanceof Error && run.replicas > 0 && NOT_RUN.test(scriptError.message) && run.deadline - Date.now() > 100) {
      // ioredis follows a redirection only when every command of a pipeline got it, and the keyless
      // WAIT never does: the script did not run, so refresh the slot map and send both again.
      client.refreshSlotsCache();
      await new Promise((resolve) => setTimeout(resolve, 50));
      return await this.pipelined(client, useEval, keys, args, run);
    }
    if (scriptError) throw scriptError;
    if (run.replicas > 0) {
      const [waitError, acknowledged] = skipWait ? [null, 0] : (results?.[1] ?? [new Error('no WAIT reply')]);
      if (waitError) throw waitError;
      if (Number(acknowledged) < run.replicas) {
        if (!skipWait && master !== undefined) this.unconfirmedUntil.set(master, Date.now() + UNCONFIRMED_BACKOFF_MS);
        const within = skipWait ? `within the last ${UNCONFIRMED_BACKOFF_MS} ms` : `within ${waitMs} ms`;
        throw new CostspanError({
          code: 'budget_unavailable',
          message:
            `the spend was booked on the master of ${slotName(keys[0])}, but ${String(acknowledged)} of ${run.replicas} replica(s) ` +
            `confirmed it ${within} (WAIT); it is lost if that master fails before it replicates. ` +
            'Check the replicas (INFO replication), or set waitForReplicas: 0 to book without waiting',
        });
      }
    }
    return reply;
  }

  private assertOpen(): void {
    if (this.closed) throw new CostspanError({ code: 'shutdown', message: 'RedisClusterBudgetStore is closed' });
  }

  /** Waits for the cluster's first slot map; an ended client fails at once. */
  private async ready(client: Cluster, deadline: number): Promise<void> {
    if (client.status === 'ready') return;
    if (client.status === 'wait') client.connect().catch(() => undefined);
    else if (client.status === 'end' || client.status === 'close') {
      throw new Error(`redis cluster client is not connected (status ${client.status})`);
    }
    let wait = this.readyWaits.get(client);
    if (wait === undefined) {
      wait = new Promise<void>((resolve, reject) => {
        const onReady = (): void => {
          client.off('end', onEnd);
          this.readyWaits.delete(client);
          resolve();
        };
        const onEnd = (): void => {
          client.off('ready', onReady);
          this.readyWaits.delete(client);
          reject(new Error('redis cluster connection ended'));
        };
        client.once('ready', onReady);
        client.once('end', onEnd);
      });
      wait.catch(() => undefined);
      this.readyWaits.set(client, wait);
    }
    await bounded(wait, deadline, () => this.noAnswer('connect'));
  }

  /** Names the slot's master when known (`host:port`), never credentials. */
  private noAnswer(what: string, key?: string): Error {
    const master = key === undefined ? undefined : this.masterOf(key);
    const where = master === undefined ? 'redis cluster' : `redis cluster master ${master}`;
    return new Error(
      `${where} did not answer within ${Math.round(this.timeoutMs)} ms (${what}${key === undefined ? '' : ` for ${slotName(key)}`})`,
    );
  }

  private masterOf(key: string, client: Cluster = this.client): string | undefined {
    const tag = /\{([^}]+)\}/.exec(key)?.[1];
    if (tag === undefined) return undefined;
    const nodes = (client as unknown as { slots?: string[][] }).slots;
    const slot = keySlot(tag);
    return nodes?.[slot]?.[0];
  }
}

/** How long a master whose replicas did not confirm is not waited on (its settles reject at once). */
const UNCONFIRMED_BACKOFF_MS = 1000;

/** Replies meaning the command did not run on this node (so sending it again is safe). */
const NOT_RUN = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN) /;

/** `{user:alice}`: the hash tag of a key, for messages. */
function slotName(key: string | undefined): string {
  const tag = key === undefined ? undefined : /\{[^}]+\}/.exec(key)?.[0];
  return tag ?? 'its slot';
}

/** CRC16 (XMODEM) of the hash tag mod 16384: Redis Cluster's key slot. */
function keySlot(tag: string): number {
  let crc = 0;
  for (const byte of Buffer.from(tag)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
