import type { DocumentReference, Firestore, Transaction } from '@google-cloud/firestore';
import { createHash, randomUUID } from 'node:crypto';

/**
 * Kit-level `Idempotency-Key` (docs/decisions/0013, 0045): every POST may carry a key. The first
 * request with a key *claims* it (an atomic create of a pending record under (principal, method +
 * path, key) with a fingerprint of the body) before its handler runs; a concurrent duplicate finds
 * the claim and waits for it or gets 409 `idempotency-key-in-progress`. A 2xx answer completes the
 * record (later repeats replay it); anything else releases the claim so a retry can run. A repeat
 * with a different body is 422 `idempotency-key-reused`. Records live in `idempotency_keys` next to
 * the investigations' own (different document ids), so the retention sweep (created_at) and
 * erasure (investigation_id) already cover them.
 */
export interface StoredIdempotentResponse {
  request_hash: string;
  status: number;
  /** JSON text of the body, or null for an empty one. */
  body: string | null;
  text: string | null;
  headers: Record<string, string>;
  created_at: string;
  investigation_id: string | null;
}

/** What the first request writes before it runs. */
export interface IdempotencyClaimRequest {
  request_hash: string;
  created_at: string;
  investigation_id: string | null;
}

export type IdempotencyClaim =
  /** This request holds the key: run, then `complete` or `release` with the token. */
  | { state: 'claimed'; token: string }
  /** Another request with this key finished: replay (after comparing the fingerprint). */
  | { state: 'done'; record: StoredIdempotentResponse }
  /** Another request with this key is running now. */
  | { state: 'pending'; request_hash: string };

export interface IdempotencyStore {
  /** Atomically claims the key, or says who has it; a claim older than `staleMs` is taken over (its holder died). */
  claim(scope: string, request: IdempotencyClaimRequest, nowMs: number, staleMs: number): Promise<IdempotencyClaim>;
  /** The finished response, or what `claim` would say without claiming. */
  peek(scope: string): Promise<IdempotencyClaim | null>;
  /** Stores the response under a claim this request still holds. */
  complete(scope: string, token: string, record: StoredIdempotentResponse): Promise<void>;
  /** Gives up a claim this request still holds (its run failed): a retry may run. */
  release(scope: string, token: string): Promise<void>;
}

export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** A pending claim older than this belongs to a request that died (requests end well within it). */
export const IDEMPOTENCY_CLAIM_STALE_MS = 120_000;

export function idempotencyScope(principal: string, method: string, path: string, key: string): string {
  return 'kit_' + createHash('sha256').update(`${principal}\n${method} ${path}\n${key}`).digest('hex');
}

/** Same JSON value → same fingerprint, whatever the key order or whitespace. */
export function bodyFingerprint(raw: Buffer): string {
  let canonical: string;
  try {
    canonical = raw.length ? stableStringify(JSON.parse(raw.toString('utf8'))) : '';
  } catch {
    canonical = raw.toString('base64');
  }
  return createHash('sha256').update(canonical).digest('hex');
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A stored record: `state` absent on records written before claims existed (all finished). */
type StoredRecord = (StoredIdempotentResponse & { state?: 'done' }) | (IdempotencyClaimRequest & { state: 'pending'; token: string; claimed_at_ms: number });

function stateOf(data: StoredRecord, nowMs: number, staleMs: number): IdempotencyClaim | 'stale' {
  if (data.state !== 'pending') return { state: 'done', record: data };
  if (nowMs - data.claimed_at_ms > staleMs) return 'stale';
  return { state: 'pending', request_hash: data.request_hash };
}

const ALREADY_EXISTS = 6;

export class FirestoreIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: () => Firestore) {}

  private ref(scope: string) {
    return this.db().collection('idempotency_keys').doc(scope);
  }

  async claim(scope: string, request: IdempotencyClaimRequest, nowMs: number, staleMs: number): Promise<IdempotencyClaim> {
    const token = randomUUID();
    const pending: StoredRecord = { ...request, state: 'pending', token, claimed_at_ms: nowMs };
    try {
      // create() is the atomic check-and-set: exactly one of the concurrent first requests wins.
      await this.ref(scope).create(pending);
      return { state: 'claimed', token };
    } catch (error) {
      if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
    }
    return this.db().runTransaction(async (tx) => {
      const snap = await tx.get(this.ref(scope));
      if (!snap.exists) {
        // Released between our create and this read: claim it now.
        tx.create(this.ref(scope), pending);
        return { state: 'claimed', token } as const;
      }
      const seen = stateOf(snap.data() as StoredRecord, nowMs, staleMs);
      if (seen !== 'stale') return seen;
      tx.set(this.ref(scope), pending);
      return { state: 'claimed', token } as const;
    });
  }

  async peek(scope: string): Promise<IdempotencyClaim | null> {
    const snap = await this.ref(scope).get();
    if (!snap.exists) return null;
    const seen = stateOf(snap.data() as StoredRecord, 0, Infinity);
    return seen === 'stale' ? null : seen;
  }

  async complete(scope: string, token: string, record: StoredIdempotentResponse): Promise<void> {
    await this.whileHeld(scope, token, (tx, ref) => tx.set(ref, { ...record, state: 'done' }));
  }

  async release(scope: string, token: string): Promise<void> {
    await this.whileHeld(scope, token, (tx, ref) => tx.delete(ref));
  }

  /** Acts only while the claim is still ours (a stale claim may have been taken over). */
  private async whileHeld(scope: string, token: string, act: (tx: Transaction, ref: DocumentReference) => void): Promise<void> {
    await this.db().runTransaction(async (tx) => {
      const ref = this.ref(scope);
      const snap = await tx.get(ref);
      const data = snap.data() as StoredRecord | undefined;
      if (data?.state === 'pending' && data.token === token) act(tx, ref);
    });
  }
}

/** The same semantics in memory (unit tests of the kit). */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, StoredRecord>();

  async claim(scope: string, request: IdempotencyClaimRequest, nowMs: number, staleMs: number): Promise<IdempotencyClaim> {
    const existing = this.records.get(scope);
    if (existing) {
      const seen = stateOf(existing, nowMs, staleMs);
      if (seen !== 'stale') return seen;
    }
    const token = randomUUID();
    this.records.set(scope, { ...request, state: 'pending', token, claimed_at_ms: nowMs });
    return { state: 'claimed', token };
  }

  async peek(scope: string): Promise<IdempotencyClaim | null> {
    const existing = this.records.get(scope);
    if (!existing) return null;
    const seen = stateOf(existing, 0, Infinity);
    return seen === 'stale' ? null : seen;
  }

  async complete(scope: string, token: string, record: StoredIdempotentResponse): Promise<void> {
    const existing = this.records.get(scope);
    if (existing?.state === 'pending' && existing.token === token) this.records.set(scope, { ...record, state: 'done' });
  }

  async release(scope: string, token: string): Promise<void> {
    const existing = this.records.get(scope);
    if (existing?.state === 'pending' && existing.token === token) this.records.delete(scope);
  }
}
