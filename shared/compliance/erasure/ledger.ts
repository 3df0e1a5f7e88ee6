import type { Firestore } from '@google-cloud/firestore';
import { SUBJECT_KEYS_COLLECTION } from '../../crypto/subject-keys.js';
import { LedgerEntrySchema, mergeLedgers, type ErasureLedgerReplay, type LedgerEntry } from '../../backup/ledger.js';
import type { Logger } from '../../platform/logger.js';
import type { SubjectCrypto } from '../subject-crypto.js';
import { applyErasure, planErasure } from './erase.js';
import { LEDGER_COLLECTION } from './model.js';

/**
 * After a restore from backup, before data is served: every subject in the erasure ledger is
 * erased again. The ledger holds pseudonyms only (blind indexes) and lives outside the database
 * (ledger-store.ts); restore hands over the union of its copies (shared/backup/ledger.ts). A
 * restored live key of an erased generation is tombstoned again, investigations about the subject
 * are erased again, and, with the blind-index key (`crypto`), mentions are found and erased too.
 * Backups of format 1 kept the ledger in Firestore (`erasure_ledger`): read as well.
 */
export async function replayErasureLedger(
  db: Firestore,
  context: { entries?: readonly LedgerEntry[]; logger?: Logger; crypto?: SubjectCrypto | null; now?: Date } = {},
): Promise<{ replayed: number }> {
  const legacy: LedgerEntry[] = [];
  for (const d of (await db.collection(LEDGER_COLLECTION).get()).docs) {
    const data = d.data();
    const parsed = LedgerEntrySchema.safeParse({ recorded_at: data.completed_at, ...data, key_generation: Number(data.key_generation ?? 1) });
    if (parsed.success) legacy.push(parsed.data);
  }
  const entries = mergeLedgers(context.entries ?? [], legacy);
  const now = context.now ?? new Date();
  let replayed = 0;
  for (const entry of entries) {
    const index = entry.subject_index;
    const keyRef = db.collection(SUBJECT_KEYS_COLLECTION).doc(index);
    const key = await keyRef.get();
    // Only a restored live key of an erased generation is destroyed again; a newer generation
    // (the subject came back after the erasure) is someone else's data now.
    if (key.exists && key.get('state') !== 'destroyed' && Number(key.get('generation')) <= entry.key_generation) {
      await keyRef.set({
        key_id: index,
        generation: key.get('generation'),
        state: 'destroyed',
        wrapped_dek: null,
        kek_version: null,
        created_at: key.get('created_at') ?? now.toISOString(),
        destroyed_at: now.toISOString(),
        rewrapped_at: null,
      });
    }
    const plan = await planErasure(db, context.crypto ?? null, { index, type: entry.subject_type });
    // Already-erased investigations (erased_at set) need nothing; restored copies do.
    plan.about = plan.about.filter((d) => d.get('erased_at') === undefined);
    await applyErasure(db, plan, entry.erasure_id, now, context.crypto ?? null);
    replayed++;
  }
  context.logger?.info('erasure ledger replayed', { subjects: replayed });
  return { replayed };
}

/**
 * The hook for shared/backup/restore.ts (its `replayErasureLedger` option). `cryptoFor(db)` gives
 * data protection on the RESTORED database (its restored subject keys open the sealed comments
 * that may mention the subject); null replays without mention search.
 */
export function createErasureLedgerReplay(cryptoFor: ((db: Firestore) => SubjectCrypto | null) | null): ErasureLedgerReplay {
  return (db, ctx) => replayErasureLedger(db, { entries: ctx.entries, logger: ctx.logger, crypto: cryptoFor ? cryptoFor(db) : null });
}
