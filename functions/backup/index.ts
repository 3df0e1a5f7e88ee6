import * as functions from '@google-cloud/functions-framework';
// Before the framework builds its server: its body-parsing errors answer problem+json (docs/decisions/0014).
import '../../shared/platform/framework-errors.js';
import { join } from 'node:path';
import { createBackup } from '../../shared/backup/export.js';
import { backupFirestore } from '../../shared/backup/firestore.js';
import { GcsBackupStore } from '../../shared/backup/gcs.js';
import { readEmulatorEndpoint } from '../../shared/backup/local-endpoint.js';
import { LocalFolderBackupStore } from '../../shared/backup/store.js';
import { openVault } from '../../shared/compliance/erasure/vault.js';
import { unwrapDelivery } from '../../shared/events/envelope.js';
import { loadFunctionConfig } from '../../shared/platform/function-config.js';
import { getRuntime } from '../../shared/runtime/index.js';

// Start-up check against this function's schema (functions/manifest.json).
const fnConfig = loadFunctionConfig('backup');

/**
 * Scheduled (Cloud Scheduler → Pub/Sub) logical backup of Firestore, on top of Firestore's own
 * backups and PITR: every collection as gzip NDJSON + manifest to gs://TSI_BACKUP_BUCKET/
 * firestore/<database>/<backup-id>/ (locally <dataDir>/backups). Wiring only: shared/backup/.
 * A duplicate delivery makes a second, equally valid backup; bucket lifecycle rules prune them.
 */
functions.cloudEvent('backup', async (cloudEvent: functions.CloudEvent<unknown>) => {
  const rt = getRuntime('backup');
  const log = rt.logger.child({ component: 'backup' });
  try {
    unwrapDelivery(cloudEvent);
  } catch (error) {
    log.error('dropping malformed trigger', error, { ce_id: cloudEvent.id });
    return;
  }
  const { config } = rt;
  const bucket = fnConfig.settings.TSI_BACKUP_BUCKET;
  const store = bucket
    ? new GcsBackupStore({ bucket, prefix: `firestore/${config.firestoreDatabase}`, projectId: config.projectId })
    : new LocalFolderBackupStore(join(config.dataDir, 'backups'));
  const local = config.adapters.store === 'emulator' ? readEmulatorEndpoint(config.dataDir) : null;
  if (config.adapters.store === 'emulator' && !local) throw new Error('The local backup needs the running local stack.');
  const db = backupFirestore({ projectId: config.projectId, databaseId: config.firestoreDatabase, ...(local ? { emulatorHost: `${local.host}:${local.port}` } : {}) });
  try {
    const vault = openVault(config, { clock: rt.clock });
    const manifest = await createBackup({ db, store, source: { project: config.projectId, database: config.firestoreDatabase }, clock: rt.clock, logger: log, escrow: vault.escrow, ledger: vault.ledger });
    await rt.audit.write({
      actor: 'system:backup',
      roles: ['service'],
      action: 'backup.created',
      resource: store.describe(manifest.backup_id),
      outcome: 'allowed',
      reason: null,
      request_id: cloudEvent.id,
      trace: null,
      source_ip: null,
      details: { documents: manifest.total_documents, files: manifest.files.length, started_at: manifest.started_at, finished_at: manifest.finished_at },
    });
  } finally {
    await db.terminate();
  }
});
