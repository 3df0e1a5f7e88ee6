import type { Clock } from './clock.js';

/**
 * A small keyed cache for values that change rarely but must change eventually (feature flags,
 * rotated secrets): a value is reused for `ttlMs`, then reloaded. Concurrent callers share one
 * load. When a reload fails, the last good value keeps being served for at most `maxStaleMs`
 * past its expiry (reloads are retried no more than every `retryMs`); after that the error is
 * the caller's. Failures are never cached.
 */
export interface TtlCacheOptions {
  clock: Clock;
  ttlMs: number;
  maxStaleMs: number;
  /** Minimum time between reload attempts while serving a stale value. */
  retryMs?: number;
  /** Told about a failed reload that was covered by a stale value (log it; never the value). */
  onStale?: (key: string, error: unknown, ageMs: number) => void;
  /** Whether a failed reload may be covered by the last value (default: always). A definitive
   * answer such as "this secret no longer exists" should not be. */
  mayServeStale?: (error: unknown) => boolean;
}

interface Entry<V> {
  value: V;
  loadedAt: number;
  retryAt: number;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<V>>();
  /** Bumped by invalidate, so a load that started before it cannot store a superseded value. */
  private generation = 0;

  constructor(private readonly opts: TtlCacheOptions) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.opts.clock.now().getTime();
    const entry = this.entries.get(key);
    if (entry && (now - entry.loadedAt < this.opts.ttlMs || now < entry.retryAt)) return entry.value;
    try {
      return await this.load(key, load);
    } catch (error) {
      const age = entry ? this.opts.clock.now().getTime() - entry.loadedAt : Infinity;
      if (!entry || age >= this.opts.ttlMs + this.opts.maxStaleMs) throw error;
      if (this.opts.mayServeStale && !this.opts.mayServeStale(error)) {
        this.entries.delete(key);
        throw error;
      }
      entry.retryAt = this.opts.clock.now().getTime() + (this.opts.retryMs ?? 5000);
      this.opts.onStale?.(key, error, age);
      return entry.value;
    }
  }

  /** Forget one key (or everything): the next get loads. */
  invalidate(key?: string): void {
    this.generation++;
    if (key === undefined) {
      this.entries.clear();
      this.loading.clear();
    } else {
      this.entries.delete(key);
      this.loading.delete(key);
    }
  }

  private load(key: string, load: () => Promise<V>): Promise<V> {
    let pending = this.loading.get(key);
    if (!pending) {
      const generation = this.generation;
      const started: Promise<V> = load()
        .then((value) => {
          if (generation === this.generation) this.entries.set(key, { value, loadedAt: this.opts.clock.now().getTime(), retryAt: 0 });
          return value;
        })
        .finally(() => {
          if (this.loading.get(key) === started) this.loading.delete(key);
        });
      pending = started;
      this.loading.set(key, pending);
    }
    return pending;
  }
}
