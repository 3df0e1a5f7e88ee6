import type { Firestore } from '@google-cloud/firestore';
import { createHash } from 'node:crypto';

/**
 * Kit-level `Idempotency-Key` (docs/decisions/0013): every POST may carry a key; the first
 * successful (2xx) response is stored under (principal, method + path, key) with a fingerprint of
 * the body. A repeat with the same body replays it; a different body is 422 `idempotency-key-reused`.
 * Records live in `idempotency_keys` next to the investigations' own (different document ids), so
 * the retention sweep (created_at) and erasure (investigation_id) already cover them.
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

export interface IdempotencyStore {
  get(scope: string): Promise<StoredIdempotentResponse | null>;
  /** Stores unless a record exists (a concurrent first request won): the first one stays. */
  put(scope: string, record: StoredIdempotentResponse): Promise<void>;
}

export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

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

export class FirestoreIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: () => Firestore) {}

  async get(scope: string): Promise<StoredIdempotentResponse | null> {
    const snap = await this.db().collection('idempotency_keys').doc(scope).get();
    return snap.exists ? (snap.data() as StoredIdempotentResponse) : null;
  }

  async put(scope: string, record: StoredIdempotentResponse): Promise<void> {
    try {
      await this.db().collection('idempotency_keys').doc(scope).create(record);
    } catch (error) {
      // ALREADY_EXISTS: a concurrent request with the same key stored first; keep that one.
      if ((error as { code?: number }).code !== 6) throw error;
    }
  }
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, StoredIdempotentResponse>();
  async get(scope: string) {
    return this.records.get(scope) ?? null;
  }
  async put(scope: string, record: StoredIdempotentResponse) {
    if (!this.records.has(scope)) this.records.set(scope, record);
  }
}
