import { linkRecord, type ChainFields, type ChainHead } from './chain.js';

/**
 * Serialises appends to one hash chain: records are linked in call order and persisted in
 * batches (group commit: one write and one sync for everything that queued up meanwhile). A
 * record's promise resolves only after its batch is durable; the head advances only then.
 */
export interface ChainStorage<R> {
  /** The current head (read from storage on first use, and again after a failed write). */
  loadHead(): Promise<ChainHead>;
  /** Persists linked records in order, all or (as far as the caller can tell) none. */
  persist(records: (R & ChainFields)[]): Promise<void>;
}

interface Pending<R> {
  record: R;
  resolve(value: R & ChainFields): void;
  reject(error: unknown): void;
}

export class ChainAppender<R extends object> {
  private head: ChainHead | null = null;
  private pending: Pending<R>[] = [];
  private draining: Promise<void> | null = null;

  constructor(
    private readonly storage: ChainStorage<R>,
    private readonly options: { maxBatch?: number; /** Told each new durable head (the anchor's cue). */ onDurable?: (head: ChainHead) => void } = {},
  ) {}

  append(record: R): Promise<R & ChainFields> {
    return new Promise((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Resolves when everything appended so far is settled. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** The last durable head, if known (no I/O). */
  peekHead(): ChainHead | null {
    return this.head;
  }

  /**
   * Never throws (each batch settles its own promises). `draining` is cleared in the same
   * synchronous step that finds the queue empty (not in a later `.finally`): a caller whose
   * record was just acknowledged may append again before any later microtask, and must then
   * start a new drain rather than join one that is about to end (its record would wait forever).
   */
  private async drain(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, this.options.maxBatch ?? 200);
      try {
        let head = this.head ?? (await this.storage.loadHead());
        const linked = batch.map((p) => {
          const l = linkRecord(head, p.record);
          head = { chain: l.chain, seq: l.seq, hash: l.hash };
          return l;
        });
        await this.storage.persist(linked);
        this.head = head;
        batch.forEach((p, i) => p.resolve(linked[i]!));
        this.options.onDurable?.(head);
      } catch (error) {
        // What reached storage is unknown: read the head back before the next append.
        this.head = null;
        batch.forEach((p) => p.reject(error));
      }
    }
    this.draining = null;
  }
}
