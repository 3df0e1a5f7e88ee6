import type { DocumentReference, Firestore, Transaction } from '@google-cloud/firestore';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../platform/clock.js';
import { KEY_BYTES } from './envelope.js';
import { SubjectErasedError, SubjectKeyChangedError } from './errors.js';
import type { KeyEncryptionKey } from './kek/port.js';

/**
 * One data key (DEK) per data subject, stored wrapped by the KEK in Firestore
 * (`subject_keys/<blind index>`), with a small in-process cache of unwrapped keys.
 *
 * Crypto-shredding: `destroy` overwrites the document with a tombstone that holds no key material,
 * so every copy of that subject's ciphertext (documents, exports, backups of other collections)
 * becomes unreadable. A later `activeKey` for the same subject starts a new generation: older
 * generations stay erased.
 *
 * Other instances may hold the destroyed key in their cache for up to `cacheTtlMs`; they must
 * never seal NEW data with it. So every write of freshly sealed data checks, inside its own
 * transaction, that the generation it sealed under is still the live one (`assertLive`): a write
 * racing the destruction either commits before it (and is erased with the rest) or is refused
 * with SubjectKeyChangedError and sealed again under a fresh generation. KMS is never called
 * inside a transaction callback (a retried callback would repeat it): keys are wrapped and
 * unwrapped outside, and the transaction only re-reads and compares.
 */
export const SUBJECT_KEYS_COLLECTION = 'subject_keys';

const KeyDocSchema = z.object({
  key_id: z.string(),
  // A bigint through a client that reads integers exactly (backup and restore tools).
  generation: z.union([z.number(), z.bigint()]).transform(Number).pipe(z.number().int().min(1)),
  state: z.enum(['active', 'destroyed']),
  wrapped_dek: z.string().nullable(),
  kek_version: z.string().nullable(),
  created_at: z.string(),
  destroyed_at: z.string().nullable(),
  rewrapped_at: z.string().nullable().optional(),
});
type KeyDoc = z.infer<typeof KeyDocSchema>;

/** What may be shown about a subject key: never key material. */
export interface SubjectKeyStatus {
  keyId: string;
  generation: number;
  state: 'active' | 'destroyed';
  kekVersion: string | null;
  createdAt: string;
  destroyedAt: string | null;
}

export interface DestroyResult {
  keyId: string;
  /** The generation that is now destroyed. */
  generation: number;
  /** False when there was no live key (already destroyed, or never created). */
  hadKey: boolean;
  destroyedAt: string;
}

export interface RewrapOptions {
  /** Resume after this key id (the `next` of a previous report). */
  after?: string | null;
  batchSize?: number;
  /** Stop after this many batches; `next` says where to resume. */
  maxBatches?: number;
}

export interface RewrapReport {
  scanned: number;
  rewrapped: number;
  alreadyCurrent: number;
  destroyed: number;
  /** Key id to resume after, or null when every key was visited. */
  next: string | null;
}

export interface SubjectKeyringOptions {
  db: Firestore;
  kek: KeyEncryptionKey;
  clock: Clock;
  collection?: string;
  /** How long an unwrapped key stays in memory (default 60 s). */
  cacheTtlMs?: number;
  /** Most keys held unwrapped at once (default 1000; least recently used go first). */
  cacheMax?: number;
}

interface Cached {
  generation: number;
  dek: Buffer;
  expiresAt: number;
}

const KEY_ID = /^[A-Za-z0-9_-]{16,128}$/;

export function wrapAad(keyId: string, generation: number): Buffer {
  return Buffer.from(`tsi-subject-dek\u0000${keyId}\u0000${generation}`, 'utf8');
}

export class SubjectKeyring {
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<{ generation: number; dek: Buffer }>>();
  private readonly collection: string;
  private readonly ttl: number;
  private readonly max: number;

  constructor(private readonly opts: SubjectKeyringOptions) {
    this.collection = opts.collection ?? SUBJECT_KEYS_COLLECTION;
    this.ttl = opts.cacheTtlMs ?? 60_000;
    this.max = opts.cacheMax ?? 1000;
  }

  private ref(keyId: string): DocumentReference {
    if (!KEY_ID.test(keyId)) throw new TypeError('key id must be 16-128 base64url characters');
    return this.opts.db.collection(this.collection).doc(keyId);
  }

  /** The key to encrypt new data with: the live generation, created on first use. */
  async activeKey(keyId: string): Promise<{ generation: number; dek: Buffer }> {
    const hit = this.cached(keyId);
    if (hit) return hit;
    const pending = this.inflight.get(keyId);
    if (pending) return pending;
    const load = this.loadOrCreate(keyId).finally(() => this.inflight.delete(keyId));
    this.inflight.set(keyId, load);
    return load;
  }

  /** The key of one generation, to decrypt with. SubjectErasedError if it was destroyed. */
  async keyFor(keyId: string, generation: number): Promise<Buffer> {
    const hit = this.cached(keyId);
    if (hit && hit.generation === generation) return hit.dek;
    if (hit && hit.generation > generation) throw new SubjectErasedError(keyId, 'destroyed');
    const snap = await this.ref(keyId).get();
    if (!snap.exists) throw new SubjectErasedError(keyId, 'missing');
    const doc = KeyDocSchema.parse(snap.data());
    if (generation < doc.generation) throw new SubjectErasedError(keyId, 'destroyed');
    if (doc.state === 'destroyed' || generation > doc.generation) throw new SubjectErasedError(keyId, doc.state === 'destroyed' ? 'destroyed' : 'missing', doc.destroyed_at);
    const dek = await this.unwrap(doc);
    this.remember(keyId, doc.generation, dek);
    return dek;
  }

  /**
   * Inside a write transaction: every (key id, generation) that sealed data in this write is
   * still the live key. Reads the key documents through the transaction, so a destruction that
   * commits first makes this write fail its commit and, on the retry, this check. A changed key is
   * dropped from the cache, so sealing again picks up the new state. Call before any write.
   */
  async assertLive(tx: Transaction, uses: readonly { keyId: string; generation: number }[]): Promise<void> {
    const distinct = new Map<string, { keyId: string; generation: number }>();
    for (const u of uses) distinct.set(`${u.keyId}.${u.generation}`, u);
    const list = [...distinct.values()];
    if (list.length === 0) return;
    const snaps = await tx.getAll(...list.map((u) => this.ref(u.keyId)));
    for (const [i, snap] of snaps.entries()) {
      const u = list[i]!;
      const doc = snap.exists ? KeyDocSchema.parse(snap.data()) : null;
      if (doc?.state === 'active' && doc.generation === u.generation) continue;
      this.cache.delete(u.keyId);
      throw new SubjectKeyChangedError(u.keyId, u.generation);
    }
  }

  /** Drops one key from this instance's cache (after SubjectKeyChangedError). */
  forget(keyId: string): void {
    this.cache.delete(keyId);
  }

  async status(keyId: string): Promise<SubjectKeyStatus | null> {
    const snap = await this.ref(keyId).get();
    if (!snap.exists) return null;
    const d = KeyDocSchema.parse(snap.data());
    return { keyId: d.key_id, generation: d.generation, state: d.state, kekVersion: d.kek_version, createdAt: d.created_at, destroyedAt: d.destroyed_at };
  }

  /** Crypto-shredding: replaces the wrapped key with a tombstone. Irreversible; idempotent. */
  async destroy(keyId: string): Promise<DestroyResult> {
    const ref = this.ref(keyId);
    const now = this.opts.clock.now().toISOString();
    const result = await this.opts.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const doc = snap.exists ? KeyDocSchema.parse(snap.data()) : null;
      if (doc?.state === 'destroyed') return { keyId, generation: doc.generation, hadKey: false, destroyedAt: doc.destroyed_at ?? now };
      const tombstone: KeyDoc = {
        key_id: keyId,
        generation: doc?.generation ?? 1,
        state: 'destroyed',
        wrapped_dek: null,
        kek_version: null,
        created_at: doc?.created_at ?? now,
        destroyed_at: now,
        rewrapped_at: null,
      };
      // `set` replaces the whole document: no field of the old one (the wrapped key) survives.
      tx.set(ref, tombstone);
      return { keyId, generation: tombstone.generation, hadKey: doc !== null, destroyedAt: now };
    });
    this.cache.delete(keyId);
    return result;
  }

  /**
   * After a KEK rotation: re-wraps every live data key that an older KEK version wrapped, under the
   * current version. Field data is untouched (the data keys do not change). Resumable: run again
   * with `after: report.next`, or from the start (keys already current are skipped).
   */
  async rewrapAll(options: RewrapOptions = {}): Promise<RewrapReport> {
    const size = Math.min(Math.max(options.batchSize ?? 100, 1), 400);
    const report: RewrapReport = { scanned: 0, rewrapped: 0, alreadyCurrent: 0, destroyed: 0, next: options.after ?? null };
    for (let batch = 0; batch < (options.maxBatches ?? Infinity); batch++) {
      let query = this.opts.db.collection(this.collection).orderBy('key_id').limit(size);
      if (report.next) query = query.startAfter(report.next);
      const page = await query.get();
      if (page.empty) {
        report.next = null;
        return report;
      }
      const refs = page.docs.map((d) => d.ref);
      // KMS outside the transaction: unwrap and re-wrap what was read ...
      const planned = new Map<string, { doc: KeyDoc; wrapped: { wrapped: string; kekVersion: string } | null }>();
      for (const snap of page.docs) {
        const doc = KeyDocSchema.parse(snap.data());
        if (doc.state === 'destroyed' || !doc.wrapped_dek || !doc.kek_version) continue;
        const aad = wrapAad(doc.key_id, doc.generation);
        const { dek, current } = await this.opts.kek.unwrap({ wrapped: doc.wrapped_dek, kekVersion: doc.kek_version }, aad);
        planned.set(snap.id, { doc, wrapped: current ? null : await this.opts.kek.wrap(dek, aad) });
      }
      const counts = await this.opts.db.runTransaction(async (tx) => {
        const c = { rewrapped: 0, alreadyCurrent: 0, destroyed: 0 };
        // ... then re-read inside: a key destroyed or replaced meanwhile is never brought back.
        const snaps = await tx.getAll(...refs);
        const at = this.opts.clock.now().toISOString();
        for (const snap of snaps) {
          if (!snap.exists) continue;
          const doc = KeyDocSchema.parse(snap.data());
          const plan = planned.get(snap.id);
          if (doc.state === 'destroyed' || !doc.wrapped_dek || !doc.kek_version || !plan) {
            c.destroyed++;
            continue;
          }
          if (plan.doc.generation !== doc.generation || plan.doc.wrapped_dek !== doc.wrapped_dek) continue; // changed: next run
          if (!plan.wrapped) {
            c.alreadyCurrent++;
            continue;
          }
          tx.update(snap.ref, { wrapped_dek: plan.wrapped.wrapped, kek_version: plan.wrapped.kekVersion, rewrapped_at: at });
          c.rewrapped++;
        }
        return c;
      });
      report.scanned += refs.length;
      report.rewrapped += counts.rewrapped;
      report.alreadyCurrent += counts.alreadyCurrent;
      report.destroyed += counts.destroyed;
      report.next = page.docs[page.docs.length - 1]!.id;
      if (page.size < size) {
        report.next = null;
        return report;
      }
    }
    return report;
  }

  /** Forgets every unwrapped key held in memory (tests, shutdown). */
  clearCache(): void {
    this.cache.clear();
  }

  /**
   * Reads the key document; an active key is unwrapped outside any transaction. A missing or
   * destroyed one gets a new generation: the DEK is made and wrapped first (KMS, outside), then a
   * transaction writes it only if the document is still what was read; otherwise read again.
   */
  private async loadOrCreate(keyId: string): Promise<{ generation: number; dek: Buffer }> {
    const ref = this.ref(keyId);
    for (let attempt = 1; ; attempt++) {
      const snap = await ref.get();
      const seen = snap.exists ? KeyDocSchema.parse(snap.data()) : null;
      if (seen?.state === 'active') {
        const dek = await this.unwrap(seen);
        this.remember(keyId, seen.generation, dek);
        return { generation: seen.generation, dek };
      }
      const generation = seen ? seen.generation + 1 : 1;
      const dek = randomBytes(KEY_BYTES);
      const wrapped = await this.opts.kek.wrap(dek, wrapAad(keyId, generation));
      const now = this.opts.clock.now().toISOString();
      const fresh: KeyDoc = {
        key_id: keyId,
        generation,
        state: 'active',
        wrapped_dek: wrapped.wrapped,
        kek_version: wrapped.kekVersion,
        created_at: now,
        destroyed_at: null,
        rewrapped_at: null,
      };
      const written = await this.opts.db.runTransaction(async (tx) => {
        const cur = await tx.get(ref);
        const doc = cur.exists ? KeyDocSchema.parse(cur.data()) : null;
        // Someone else created or destroyed meanwhile: nothing written, look again.
        if ((doc?.generation ?? 0) !== (seen?.generation ?? 0) || doc?.state !== seen?.state) return false;
        if (doc) tx.set(ref, fresh);
        else tx.create(ref, fresh);
        return true;
      });
      if (written) {
        this.remember(keyId, generation, dek);
        return { generation, dek };
      }
      if (attempt >= 5) throw new Error(`subject key ${keyId.slice(0, 8)}… keeps changing; giving up`);
    }
  }

  private unwrap(doc: KeyDoc): Promise<Buffer> {
    if (!doc.wrapped_dek || !doc.kek_version) throw new SubjectErasedError(doc.key_id, 'destroyed', doc.destroyed_at);
    return this.opts.kek.unwrap({ wrapped: doc.wrapped_dek, kekVersion: doc.kek_version }, wrapAad(doc.key_id, doc.generation)).then((r) => r.dek);
  }

  private cached(keyId: string): { generation: number; dek: Buffer } | null {
    const hit = this.cache.get(keyId);
    if (!hit) return null;
    if (hit.expiresAt <= this.opts.clock.now().getTime()) {
      this.cache.delete(keyId);
      return null;
    }
    // Re-insert: Map order is the LRU order.
    this.cache.delete(keyId);
    this.cache.set(keyId, hit);
    return { generation: hit.generation, dek: hit.dek };
  }

  private remember(keyId: string, generation: number, dek: Buffer): void {
    if (this.ttl <= 0 || this.max <= 0) return;
    this.cache.delete(keyId);
    this.cache.set(keyId, { generation, dek, expiresAt: this.opts.clock.now().getTime() + this.ttl });
    while (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value!);
  }
}
