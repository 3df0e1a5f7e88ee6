import type { Firestore } from '@google-cloud/firestore';
import type { Logger } from '../platform/logger.js';

/**
 * Erasures performed after a backup was taken must be performed again on data restored from it,
 * before anyone uses that data. The erasure feature (its ledger of completed erasures) owns the
 * implementation; restore only calls this hook after the data is written and verified.
 * Until that feature exists, the default does nothing and says so.
 */
export interface ErasureLedgerReplay {
  (db: Firestore, context: { backupStartedAt: string; logger: Logger }): Promise<{ replayed: number }>;
}

export const noErasureLedger: ErasureLedgerReplay = async (_db, { logger }) => {
  logger.warn('no erasure ledger yet: nothing replayed on the restored database');
  return { replayed: 0 };
};
