/**
 * Results of identical queries (normalised SQL + parameters + row limit + engine data version),
 * least recently used evicted first, each kept at most `ttlMs`, and at most `maxRows` rows held in
 * total so a few large results cannot hold the instance's memory.
 */
export interface CachedResult {
  rows: Record<string, unknown>[];
  truncated: boolean;
  storedAt: number;
}

export class ResultCache {
  private readonly entries = new Map<string, CachedResult>();
  private rowsHeld = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly maxRows: number,
  ) {}

  get(key: string, now: number): CachedResult | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    if (now - hit.storedAt > this.ttlMs) {
      this.rowsHeld -= hit.rows.length;
      return undefined;
    }
    this.entries.set(key, hit);
    return hit;
  }

  set(key: string, value: CachedResult): void {
    if (this.maxEntries === 0 || value.rows.length > this.maxRows) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.rowsHeld -= old.rows.length;
    }
    this.entries.set(key, value);
    this.rowsHeld += value.rows.length;
    for (const [k, v] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.rowsHeld <= this.maxRows) break;
      this.entries.delete(k);
      this.rowsHeld -= v.rows.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
