// Internal: the memo behind every price source, and the once-per-model notifier.

/** Default number of (provider, model) resolutions a source keeps. */
export const DEFAULT_CACHE_SIZE = 2048;

/**
 * A two-level map (provider → model → value) with a cap on the total number of values.
 * Two levels avoid building a key string on the hot path. When full, the oldest provider's
 * entries go first (insertion order), which is enough: the set of models a process prices is small.
 */
export class BoundedMemo<V> {
  private readonly byProvider = new Map<string, Map<string, V>>();
  private readonly capacity: number;
  private entryCount = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
  }

  /** The memoised value, computed with `resolve` and kept on the first lookup. */
  getOrResolve(provider: string, model: string, resolve: () => V): V {
    let value = this.get(provider, model);
    if (value === undefined) {
      value = resolve();
      this.set(provider, model, value);
    }
    return value;
  }

  get(provider: string, model: string): V | undefined {
    return this.byProvider.get(provider)?.get(model);
  }

  set(provider: string, model: string, value: V): void {
    let models = this.byProvider.get(provider);
    if (models === undefined) {
      models = new Map();
      this.byProvider.set(provider, models);
    }
    if (!models.has(model)) {
      if (this.entryCount >= this.capacity) this.evict();
      this.entryCount += 1;
      // evict() may have removed this provider's map.
      if (!this.byProvider.has(provider)) this.byProvider.set(provider, models);
    }
    models.set(model, value);
  }

  private evict(): void {
    for (const [provider, models] of this.byProvider) {
      const oldest = models.keys().next();
      if (!oldest.done) {
        models.delete(oldest.value);
        this.entryCount -= 1;
      }
      if (models.size === 0) this.byProvider.delete(provider);
      return;
    }
  }

  clear(): void {
    this.byProvider.clear();
    this.entryCount = 0;
  }

  get size(): number {
    return this.entryCount;
  }
}

/** Callback for a model no source could price; see `onUnknownModel` options. */
export type UnknownModelHandler = (model: string, provider: string | undefined) => void;

/** Calls a handler once per (provider, model), never letting it throw into the pricing path. */
export class UnknownModelNotifier {
  private readonly handler: UnknownModelHandler | undefined;
  private readonly seen = new Set<string>();

  constructor(handler: UnknownModelHandler | undefined) {
    this.handler = handler;
  }

  notify(model: string, provider: string | undefined): void {
    if (this.handler === undefined) return;
    const key = `${provider ?? ''}\u0000${model}`;
    if (this.seen.has(key)) return;
    // Bounded: after 10k distinct unknown names, start over (one more call each, not unbounded memory).
    if (this.seen.size >= 10_000) this.seen.clear();
    this.seen.add(key);
    try {
      this.handler(model, provider);
    } catch {
      // A faulty hook must not break pricing; the caller's own logging is the hook.
    }
  }
}
