import { randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import type { QuerySpec } from './query.js';
import { RpcError, Status } from './rpc-error.js';

/**
 * Transactions with optimistic concurrency control. A read-write transaction records what it
 * read (document → version, query → result signature); its commit is accepted only if all of it
 * is still current, otherwise ABORTED, which makes `@google-cloud/firestore` retry the
 * transaction function with backoff. Real Firestore locks instead of validating, so here a
 * contended transaction is retried where production would wait; both end serialisable.
 */
export interface Transaction {
  readonly key: string;
  readonly id: Uint8Array;
  readonly readOnly: boolean;
  readonly startedMs: number;
  /** Version of each document as first read (0 = did not exist). */
  readonly reads: Map<string, number>;
  /** Queries run inside the transaction and the `name@version` list they returned. */
  readonly queries: { spec: QuerySpec; signature: string }[];
}

/** Matches the client's retry rule for expired transactions (`/transaction has expired/`). */
const EXPIRED = 'The transaction has expired or is no longer valid (local emulator: unknown id, already finished, or past its time limit).';

export class TransactionRegistry {
  private readonly open = new Map<string, Transaction>();
  private lastSweepMs = 0;

  constructor(
    private readonly clock: Clock,
    /** Firestore ends transactions after 270 s; abandoned ones must not pile up. */
    private readonly ttlMs = 270_000,
  ) {}

  begin(readOnly: boolean): Transaction {
    const now = this.clock.now().getTime();
    this.sweep(now);
    const id = new Uint8Array(randomBytes(16));
    const tx: Transaction = { key: Buffer.from(id).toString('hex'), id, readOnly, startedMs: now, reads: new Map(), queries: [] };
    this.open.set(tx.key, tx);
    return tx;
  }

  get(id: Uint8Array): Transaction {
    const tx = this.open.get(Buffer.from(id).toString('hex'));
    if (!tx || this.clock.now().getTime() - tx.startedMs > this.ttlMs) throw new RpcError(Status.INVALID_ARGUMENT, EXPIRED);
    return tx;
  }

  /** Ends a transaction (commit or rollback); returns it, or throws if it was not open. */
  finish(id: Uint8Array): Transaction {
    const tx = this.get(id);
    this.open.delete(tx.key);
    return tx;
  }

  discard(id: Uint8Array): void {
    this.open.delete(Buffer.from(id).toString('hex'));
  }

  get size(): number {
    return this.open.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweepMs < 10_000) return;
    this.lastSweepMs = now;
    for (const [key, tx] of this.open) if (now - tx.startedMs > this.ttlMs) this.open.delete(key);
  }
}

/** Records a document read, keeping the version seen first. */
export function recordRead(tx: Transaction, name: string, version: number): void {
  if (!tx.readOnly && !tx.reads.has(name)) tx.reads.set(name, version);
}

/**
 * Throws ABORTED if anything the transaction read has changed since. `versionOf` and
 * `rerun` see the committed state at the time of the check.
 */
export function validateReadSet(tx: Transaction, versionOf: (name: string) => number, rerun: (spec: QuerySpec) => string): void {
  for (const [name, version] of tx.reads) {
    if (versionOf(name) !== version) throw aborted();
  }
  for (const q of tx.queries) {
    if (rerun(q.spec) !== q.signature) throw aborted();
  }
}

const aborted = (): RpcError =>
  new RpcError(Status.ABORTED, 'Too much contention on these documents: data read by this transaction changed before it committed. Please try again.');
