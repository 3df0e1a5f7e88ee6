import { join } from 'node:path';
import { createBackup } from '../shared/backup/export.js';
import { openDatabases } from '../shared/backup/firestore.js';
import { restoreBackup } from '../shared/backup/restore.js';
import { parseBackupLocation, parseBackupTarget } from '../shared/backup/store.js';
import { storeFor } from '../shared/backup/stores.js';
import { createErasureLedgerReplay } from '../shared/compliance/erasure/ledger.js';
import { openVault } from '../shared/compliance/erasure/vault.js';
import { subjectCryptoFrom } from '../shared/compliance/subject-crypto.js';
import { createDataProtection } from '../shared/crypto/index.js';
import { systemClock } from '../shared/platform/clock.js';
import { createSecretStore } from '../shared/secrets/index.js';
import { loadConfig } from '../shared/platform/config.js';
import { Logger } from '../shared/platform/logger.js';
import { BACKUP_HELP, type BackupCommand } from './backup-args.js';

/**
 * `tsi backup create|restore`: the logical backup of Firestore (shared/backup/). Works on the
 * data directly, not through the API: locally on the running stack's emulator (or the data
 * folder when the stack is stopped), in production (TSI_MODE=production) on Firestore with
 * application default credentials. Parsing is pure; `runBackupCommand` does the I/O.
 */
interface BackupIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
}

export async function runBackupCommand(command: BackupCommand, io: BackupIo): Promise<number> {
  if (command.action === 'help') {
    io.stdout.write(`usage: ${BACKUP_HELP}\n`);
    return 0;
  }
  const config = loadConfig(io.env as NodeJS.ProcessEnv);
  const logger = new Logger({ component: 'backup' }, (line) => io.stderr.write(line + '\n'), (io.env.LOG_LEVEL?.toUpperCase() as 'INFO' | undefined) ?? 'WARNING');
  if (command.action === 'create') {
    if (!command.out && config.mode === 'production') {
      io.stderr.write('error: backup create needs --out gs://<bucket>/<prefix> in production\n');
      return 2;
    }
    const target = parseBackupTarget(command.out ?? join(config.dataDir, 'backups'));
    const store = storeFor(target, config.projectId);
    const opened = await openDatabases(config, logger);
    try {
      const { escrow, ledger } = openVault(config);
      const manifest = await createBackup({ db: opened.db(config.firestoreDatabase), store, source: { project: config.projectId, database: config.firestoreDatabase }, clock: systemClock, logger, escrow, ledger });
      io.stdout.write(
        `backup ${manifest.backup_id}: ${manifest.total_documents} documents in ${manifest.files.length} files from ${opened.describe}\n` +
          `  ${store.describe(manifest.backup_id)}\n` +
          `restore with: npx tsi backup restore ${store.describe(manifest.backup_id)} --target <new-database>\n`,
      );
      return 0;
    } finally {
      await opened.close();
    }
  }
  const location = parseBackupLocation(command.backup);
  const store = storeFor(location, config.projectId);
  const opened = await openDatabases(config, logger);
  try {
    const started = process.hrtime.bigint();
    // Erasures done since the backup was taken are in the erasure ledger (its own store, outside
    // any database): replayed into the restored copy, with its restored subject keys to reach
    // mentions in sealed comments, before anyone uses it.
    const kmsKeyName = io.env.TSI_KMS_KEY;
    const secrets = createSecretStore(config);
    const { escrow, ledger } = openVault(config);
    const replayErasureLedger = createErasureLedgerReplay((db) => subjectCryptoFrom(createDataProtection({ config, firestore: db, secrets, clock: systemClock, ...(kmsKeyName ? { kmsKeyName } : {}) })));
    const result = await restoreBackup({ store, backupId: location.backupId, db: opened.db(command.target), logger, force: command.force, escrow, ledger, replayErasureLedger });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    io.stdout.write(
      `restored ${result.documents} documents of ${result.manifest.backup_id} (taken ${result.manifest.started_at}) into database "${command.target}" in ${seconds.toFixed(1)} s; ` +
        `checksums and counts verified, ${result.erasuresReplayed} erasure(s) replayed\n` +
        `use it with: TSI_FIRESTORE_DATABASE=${command.target}\n`,
    );
    return 0;
  } finally {
    await opened.close();
  }
}
