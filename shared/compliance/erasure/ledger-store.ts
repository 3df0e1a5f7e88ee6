import type { BlobStore } from '../../backup/blob-store.js';
import { LedgerEntrySchema, type LedgerEntry, type LedgerSource } from '../../backup/ledger.js';

/**
 * The erasure ledger's own store, outside the Firestore database it protects: one object per
 * subject (`erasure-ledger/<pseudonym>.json`) in the vault (a private folder locally, a bucket in
 * production). Holds pseudonyms only, never a subject value.
 */
export const LEDGER_PREFIX = 'erasure-ledger';

export class ErasureLedgerStore implements LedgerSource {
  constructor(private readonly blobs: BlobStore) {}

  describe(): string {
    return `${this.blobs.describe()}/${LEDGER_PREFIX}`;
  }

  /** Writes (or raises) the subject's entry: a later erasure of a newer generation supersedes. */
  async record(entry: LedgerEntry): Promise<void> {
    const parsed = LedgerEntrySchema.parse(entry);
    const name = `${LEDGER_PREFIX}/${parsed.subject_index}.json`;
    const current = await this.get(parsed.subject_index);
    if (current && current.key_generation > parsed.key_generation) return;
    await this.blobs.put(name, JSON.stringify(parsed));
  }

  async get(subjectIndex: string): Promise<LedgerEntry | null> {
    const text = await this.blobs.get(`${LEDGER_PREFIX}/${subjectIndex}.json`);
    return text === null ? null : LedgerEntrySchema.parse(JSON.parse(text));
  }

  async list(): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    for (const name of await this.blobs.list(LEDGER_PREFIX)) {
      const text = await this.blobs.get(name);
      if (text !== null) out.push(LedgerEntrySchema.parse(JSON.parse(text)));
    }
    return out;
  }
}
