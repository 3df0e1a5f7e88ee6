import { join } from 'node:path';
import { GcsBlobStore, LocalFolderBlobStore, type BlobStore } from '../../backup/blob-store.js';
import { KeyEscrow } from '../../crypto/escrow.js';
import { systemClock, type Clock } from '../../platform/clock.js';
import type { Config } from '../../platform/config.js';
import { ConfigError } from '../../platform/errors.js';
import { ErasureLedgerStore } from './ledger-store.js';

/**
 * The vault: what must outlive the database and stay out of its backups (docs/decisions/0035) —
 * the erasure ledger and the key escrow of backups. Locally `<TSI_DATA_DIR>/vault/` (0700), a
 * sibling of, never inside, `<TSI_DATA_DIR>/firestore/`. In production a Cloud Storage bucket of
 * its own (`TSI_VAULT_BUCKET`, config.vaultBucket): no lifecycle deletion (the ledger is kept), no retention lock (escrow
 * entries must be deletable). Opening touches nothing; the first read or write does.
 */
export const LOCAL_VAULT_DIR = 'vault';
const GCS_PREFIX = 'vault';

export interface Vault {
  blobs: BlobStore;
  ledger: ErasureLedgerStore;
  escrow: KeyEscrow;
}

export function vaultOn(blobs: BlobStore, clock: Clock = systemClock): Vault {
  return { blobs, ledger: new ErasureLedgerStore(blobs), escrow: new KeyEscrow(blobs, clock) };
}

export function openVault(config: { adapters: Pick<Config['adapters'], 'store'>; dataDir: string; projectId: string; vaultBucket?: string }, options: { vaultBucket?: string; apiEndpoint?: string; clock?: Clock } = {}): Vault {
  if (config.adapters.store === 'emulator') return vaultOn(new LocalFolderBlobStore(join(config.dataDir, LOCAL_VAULT_DIR)), options.clock);
  const bucket = options.vaultBucket ?? config.vaultBucket;
  if (!bucket) return vaultOn(missingBucket(), options.clock);
  return vaultOn(new GcsBlobStore({ bucket, prefix: GCS_PREFIX, projectId: config.projectId, ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}) }), options.clock);
}

/** Production without a vault bucket: erasure and backup fail with what to set, never silently skip the ledger. */
function missingBucket(): BlobStore {
  const fail = () => Promise.reject(new ConfigError('The erasure ledger and key escrow need their own Cloud Storage bucket: set TSI_VAULT_BUCKET for the erasure and backup functions (docs/decisions/0035).'));
  return { describe: () => 'gs://<TSI_VAULT_BUCKET unset>', put: fail, create: fail, get: fail, delete: fail, list: fail };
}
