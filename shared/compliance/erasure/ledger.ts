import type { Firestore } from '@google-cloud/firestore';
import { SUBJECT_KEYS_COLLECTION } from '../../crypto/subject-keys.js';
import type { ErasureLedgerReplay } from '../../backup/ledger.js';
import type { Logger } from '../../platform/logger.js';
import type { SubjectCrypto } from '../subject-crypto.js';
import { applyErasure, planErasure } from './erase.js';
import { LEDGER_COLLECTION } from './model.js';

/**
 * After a restore from backup, before data is served: every subject in the erasure ledger is
 * erased again. The ledger holds pseudonyms only (blind indexes). Restored data predating an
 * erasure may hold the subject's wrapped data key (the backup predates its destruction): the key
 * document is tombstoned again, investigations about the subject are erased again, and, with the
 * blind-index key available (`crypto`), mentions are found and erased again too.
 */
export async function replayErasureLedger(
  db: Firestore,
  context: {
    backupStartedAt?: string;
    logger?: Logger;
    crypto?: SubjectCrypto | null;
    now?: Date;
    /**
     * Where else the ledger lives: the live database a restore replaces. A backup predates the
     * erasures it must undo, so the restored copy of the ledger alone is not enough.
     */
    ledgers?: Firestore[];
  } = {},
): Promise<{ replayed: number }> {
  const entries = new Map<string, FirebaseFirestore.DocumentData>();
  for (const source of [db, ...(context.ledgers ?? [])]) for (const d of (await source.collection(LEDGER_COLLECTION).get()).docs) entries.set(d.id, d.data());
  // The restored database gets the complete ledger, so a later restore from it knows too.
  for (let i = 0, all = [...entries]; i < all.length; i += 450) {
    const batch = db.batch();
    for (const [id, data] of all.slice(i, i + 450)) batch.set(db.collection(LEDGER_COLLECTION).doc(id), data);
    await batch.commit();
  }
  let replayed = 0;
  for (const entry of [...entries.values()].map((data) => ({ get: (k: string) => data[k] }))) {
    const index = String(entry.get('subject_index'));
    const type = String(entry.get('subject_type'));
    const erasureId = String(entry.get('erasure_id'));
    const generation = Number(entry.get('key_generation') ?? 1);
    const now = context.now ?? new Date();
    const keyRef = db.collection(SUBJECT_KEYS_COLLECTION).doc(index);
    const key = await keyRef.get();
    // Only a restored live key of an erased generation is destroyed again; a newer generation
    // (the subject came back after the erasure) is someone else's data now.
    if (key.exists && key.get('state') !== 'destroyed' && Number(key.get('generation')) <= generation) {
      await keyRef.set({
        key_id: index,
        generation: Number(key.get('generation')),
        state: 'destroyed',
        wrapped_dek: null,
        kek_version: null,
        created_at: key.get('created_at') ?? now.toISOString(),
        destroyed_at: now.toISOString(),
        rewrapped_at: null,
      });
    }
    const plan = await planErasure(db, context.crypto ?? null, { index, type });
    // Already-erased investigations (erased_at set) need nothing; restored copies do.
    plan.about = plan.about.filter((d) => d.get('erased_at') === undefined);
    await applyErasure(db, plan, erasureId, now);
    replayed++;
  }
  context.logger?.info('erasure ledger replayed', { subjects: replayed });
  return { replayed };
}

/**
 * The hook for shared/backup/restore.ts (`replayErasureLedger` option): `crypto` finds mentions
 * again; `liveDb` is the database the restore replaces (its ledger has the erasures the backup
 * predates).
 */
export function createErasureLedgerReplay(crypto: SubjectCrypto | null, liveDb?: Firestore): ErasureLedgerReplay {
  return (db, ctx) => replayErasureLedger(db, { ...ctx, crypto, ...(liveDb && liveDb !== db ? { ledgers: [liveDb] } : {}) });
}
