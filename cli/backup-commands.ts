import { join } from 'node:path';
import { parseArgs } from 'node:util';
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
import { parseErrorText } from './parse-error.js';

/**
 * `tsi backup create|restore`: the logical backup of Firestore (shared/backup/). Works on the
 * data directly, not through the API: locally on the running stack's emulator (or the data
 * folder when the stack is stopped), in production (TSI_MODE=production) on Firestore with
 * application default credentials. Parsing is pure; `runBackupCommand` does the I/O.
 */
export type BackupCommand =
  | { action: 'help' }
  | { action: 'create'; out?: string }
  | { action: 'restore'; backup: string; target: string; force: boolean };

export const BACKUP_HELP = `tsi backup create [--out <folder | gs://bucket/prefix>]
  Export every Firestore collection (subcollections included) as gzip NDJSON with a manifest of
  counts and sha256 checksums. Default --out: <TSI_DATA_DIR>/backups locally (required in production).
tsi backup restore <backup> --target <database> [--force]
  Verify the backup (<folder>/<backup-id> or gs://bucket/prefix/<backup-id>) against its manifest,
  restore it into the new, empty database <database>, count again and replay the erasure ledger.
  Locally the database lives in the same emulator; use it with TSI_FIRESTORE_DATABASE=<database>.`;

export type BackupParse = { ok: true; command: BackupCommand } | { ok: false; error: string };

/** Firestore's rule for database ids; "(default)" is deliberately not a restore target. */
const DATABASE_ID = /^[a-z][a-z0-9-]{2,61}[a-z0-9]$/;

export function parseBackupArgs(argv: readonly string[]): BackupParse {
  const [action, ...rest] = argv;
  if (action === undefined || action === 'help' || action === '--help' || action === '-h') return { ok: true, command: { action: 'help' } };
  if (action !== 'create' && action !== 'restore') return { ok: false, error: `backup: unknown action "${action}"; use create or restore` };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...rest],
      options: { out: { type: 'string' }, target: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }) as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (error) {
    return { ok: false, error: `backup ${action}: ${parseErrorText(error)}` };
  }
  if (values.help) return { ok: true, command: { action: 'help' } };
  if (action === 'create') {
    if (positionals.length) return { ok: false, error: `backup create: unexpected argument "${positionals[0]}" (the destination goes in --out)` };
    if (values.target !== undefined || values.force !== undefined) return { ok: false, error: 'backup create: --target and --force belong to restore' };
    return { ok: true, command: { action: 'create', ...(typeof values.out === 'string' && values.out.trim() ? { out: values.out.trim() } : {}) } };
  }
  if (positionals.length !== 1) return { ok: false, error: positionals.length ? 'backup restore: give exactly one backup' : 'backup restore: missing <backup>' };
  const target = typeof values.target === 'string' ? values.target.trim() : '';
  if (!target) return { ok: false, error: 'backup restore: missing --target <database>' };
  if (!DATABASE_ID.test(target)) return { ok: false, error: `backup restore: "${target}" is not a database id (4-63 lower-case letters, digits, "-"; a new database, not "(default)")` };
  if (values.out !== undefined) return { ok: false, error: 'backup restore: --out belongs to create' };
  return { ok: true, command: { action: 'restore', backup: positionals[0]!, target, force: values.force === true } };
}

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
