import { GcsBackupStore } from './gcs.js';
import { LocalFolderBackupStore, type BackupLocation, type BackupStore, type BackupTarget } from './store.js';

/** The store for a parsed location: a folder, or a Cloud Storage bucket + prefix. */
export function storeFor(where: BackupLocation | BackupTarget, projectId?: string): BackupStore {
  if (where.kind === 'folder') return new LocalFolderBackupStore(where.root);
  return new GcsBackupStore({ bucket: where.bucket, prefix: where.prefix, ...(projectId ? { projectId } : {}) });
}
