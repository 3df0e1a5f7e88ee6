import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { BlobStore } from '../backup/blob-store.js';
import type { Clock } from '../platform/clock.js';

/**
 * Key escrow of backups (docs/decisions/0035): backups never hold a subject's data key wrapped
 * only by the KEK, which survives every erasure. In a backup, a live `subject_keys` document
 * carries no `wrapped_dek`; instead `escrowed` holds the KEK-wrapped key sealed once more, with
 * AES-256-GCM, under that subject's escrow key. Escrow keys live outside the database and the
 * backups (a BlobStore: a private folder locally, a bucket in production), one per subject key
 * generation, and erasure deletes the subject's entry: every backup's copy of that data key is
 * then ciphertext under a key that no longer exists.
 *
 * The escrow key is stored as raw bytes: opening a backup's key needs the backup, the escrow
 * entry AND the KEK (KMS), as reading the live database needs the database and the KEK.
 */
export const ESCROW_PREFIX = 'key-escrow';
const FORMAT = 'tsi-key-escrow/v1';
const SEALED = /^e1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]+)$/;

const EntrySchema = z.object({ format: z.literal(FORMAT), key_id: z.string(), generation: z.number().int().min(1), key: z.string(), created_at: z.string() });
type Entry = z.infer<typeof EntrySchema>;
const InnerSchema = z.object({ wrapped_dek: z.string(), kek_version: z.string() });

export class EscrowError extends Error {
  override name = 'EscrowError';
}

export type Imported = { state: 'restored'; data: Record<string, unknown> } | { state: 'missing'; keyId: string; generation: number } | { state: 'unchanged'; data: Record<string, unknown> };

function aad(keyId: string, generation: number): Buffer {
  return Buffer.from(`tsi-key-escrow\u0000${keyId}\u0000${generation}`, 'utf8');
}

export class KeyEscrow {
  constructor(
    private readonly blobs: BlobStore,
    private readonly clock: Clock,
  ) {}

  describe(): string {
    return `${this.blobs.describe()}/${ESCROW_PREFIX}`;
  }

  private name(keyId: string): string {
    return `${ESCROW_PREFIX}/${keyId}.json`;
  }

  /** A subject key document as a backup may hold it: tombstones as they are, live keys escrowed. */
  async exportKey(data: Record<string, unknown>): Promise<Record<string, unknown>> {
    const keyId = String(data.key_id);
    const generation = Number(data.generation);
    if (data.state !== 'active' || typeof data.wrapped_dek !== 'string' || typeof data.kek_version !== 'string') {
      return { ...data, wrapped_dek: null, kek_version: null };
    }
    const key = await this.keyFor(keyId, generation);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad(keyId, generation));
    const inner = JSON.stringify({ wrapped_dek: data.wrapped_dek, kek_version: data.kek_version });
    const sealed = Buffer.concat([cipher.update(inner, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return { ...data, wrapped_dek: null, kek_version: null, escrowed: `e1.${iv.toString('base64url')}.${sealed.toString('base64url')}` };
  }

  /**
   * The document to restore. `missing`: the escrow entry of that generation is gone (erased, or
   * this is not the escrow the backup was made with; the caller tells the two apart by the ledger).
   */
  async importKey(data: Record<string, unknown>): Promise<Imported> {
    if (typeof data.escrowed !== 'string') return { state: 'unchanged', data };
    const keyId = String(data.key_id);
    const generation = Number(data.generation);
    const m = SEALED.exec(data.escrowed);
    if (!m) throw new EscrowError(`subject key ${keyId.slice(0, 8)}…: escrowed key is malformed`);
    const entry = await this.read(keyId);
    if (!entry || entry.generation !== generation) return { state: 'missing', keyId, generation };
    const raw = Buffer.from(m[2]!, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(entry.key, 'base64'), Buffer.from(m[1]!, 'base64url'));
    decipher.setAAD(aad(keyId, generation));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    let inner: z.infer<typeof InnerSchema>;
    try {
      inner = InnerSchema.parse(JSON.parse(Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString('utf8')));
    } catch {
      throw new EscrowError(`subject key ${keyId.slice(0, 8)}…: escrowed key failed authentication (altered, or another escrow)`);
    }
    const { escrowed: _e, ...rest } = data;
    return { state: 'restored', data: { ...rest, wrapped_dek: inner.wrapped_dek, kek_version: inner.kek_version } };
  }

  /** Crypto-shredding of every backup's copy of this subject's data key. Idempotent; true if an entry existed. */
  async destroy(keyId: string): Promise<boolean> {
    const existed = (await this.blobs.get(this.name(keyId))) !== null;
    await this.blobs.delete(this.name(keyId));
    return existed;
  }

  /** Whether an entry exists (for tests and health checks); never returns key material. */
  async has(keyId: string): Promise<boolean> {
    return (await this.read(keyId)) !== null;
  }

  private async read(keyId: string): Promise<Entry | null> {
    const text = await this.blobs.get(this.name(keyId));
    if (text === null) return null;
    const parsed = EntrySchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new EscrowError(`escrow entry ${this.name(keyId)} in ${this.blobs.describe()} is damaged`);
    return parsed.data;
  }

  /** The escrow key of one generation, made on first use; the first of two concurrent creators wins. */
  private async keyFor(keyId: string, generation: number): Promise<Buffer> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const entry = await this.read(keyId);
      if (entry && entry.generation === generation) return Buffer.from(entry.key, 'base64');
      const fresh: Entry = { format: FORMAT, key_id: keyId, generation, key: randomBytes(32).toString('base64'), created_at: this.clock.now().toISOString() };
      if (entry && entry.generation > generation) throw new EscrowError(`subject key ${keyId.slice(0, 8)}… moved to generation ${entry.generation} during the backup`);
      // An older generation's entry is replaced (that generation was destroyed); none yet: created once.
      if (entry) await this.blobs.put(this.name(keyId), JSON.stringify(fresh));
      else if (!(await this.blobs.create(this.name(keyId), JSON.stringify(fresh)))) continue;
      return Buffer.from(fresh.key, 'base64');
    }
    throw new EscrowError(`could not create the escrow entry of subject key ${keyId.slice(0, 8)}…`);
  }
}
