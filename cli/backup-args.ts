import { parseArgs } from 'node:util';
import { parseErrorText } from './parse-error.js';

/**
 * `tsi backup create|restore`: the logical backup of Firestore (shared/backup/). Works on the
 * data directly, not through the API: locally on the running stack's emulator (or the data
 * folder when the stack is stopped), in production (TSI_MODE=production) on Firestore with
 * application default credentials. Parsing is pure; `runBackupCommand` does the I/O.
 *
 * This file is the parser and help text only, so `tsi help` and the argument parser never load
 * what the command itself needs (Firestore, DuckDB, …); that is in backup-commands.ts, loaded on use.
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
