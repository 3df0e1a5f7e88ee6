import type { Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import type { Logger } from '../platform/logger.js';

/**
 * The erasure ledger as backup and restore see it (docs/decisions/0035). The ledger lists every
 * completed (or started) erasure by pseudonym (blind index) only. It lives outside the database
 * it protects (its own store), every backup carries a copy of it, and every restore replays the
 * union of the ledger store, this backup's copy and the newest backup's copy before the restored
 * data is used, so data erased since a backup was taken never comes back. The erasure feature
 * writes the ledger and implements the replay (shared/compliance/erasure/ledger.ts).
 */
export const LedgerEntrySchema = z.object({
  subject_index: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/),
  subject_type: z.string(),
  erasure_id: z.string(),
  /** When the entry was written: before the erasure touches anything, again when it completed. */
  recorded_at: z.string(),
  completed_at: z.string().nullable().optional(),
  /** The subject key generation erased: live keys of this generation or older are destroyed again. */
  key_generation: z.number().int().min(1),
});
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

export interface LedgerSource {
  describe(): string;
  list(): Promise<LedgerEntry[]>;
}

export interface ErasureLedgerReplay {
  (db: Firestore, context: { backupStartedAt: string; logger: Logger; entries: readonly LedgerEntry[] }): Promise<{ replayed: number }>;
}

/** Several copies of the ledger as one: per subject, the entry with the highest erased generation. */
export function mergeLedgers(...lists: readonly (readonly LedgerEntry[])[]): LedgerEntry[] {
  const out = new Map<string, LedgerEntry>();
  for (const list of lists) {
    for (const e of list) {
      const cur = out.get(e.subject_index);
      if (!cur || e.key_generation > cur.key_generation || (e.key_generation === cur.key_generation && (e.completed_at ?? '') > (cur.completed_at ?? ''))) out.set(e.subject_index, e);
    }
  }
  return [...out.values()].sort((a, b) => (a.subject_index < b.subject_index ? -1 : 1));
}
