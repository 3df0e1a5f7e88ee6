import type { Firestore } from '@google-cloud/firestore';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Logger } from '../platform/logger.js';
import type { KeyEscrow } from '../crypto/escrow.js';
import { SUBJECT_KEYS_COLLECTION } from '../crypto/subject-keys.js';
import { decodeFields, encodeFields, type Encoded } from './codec.js';
import { sha256File } from './export.js';
import { LedgerEntrySchema, mergeLedgers, type ErasureLedgerReplay, type LedgerEntry, type LedgerSource } from './ledger.js';
import { LEDGER_COPY_NAME, MANIFEST_NAME, ManifestSchema, type Manifest } from './manifest.js';
import type { BackupStore } from './store.js';
import { walkDatabase } from './walk.js';

export class BackupVerificationError extends Error {
  override name = 'BackupVerificationError';
}

export class TargetNotEmptyError extends Error {
  override name = 'TargetNotEmptyError';
}

export interface RestoreOptions {
  store: BackupStore;
  backupId: string;
  /** The target database (a new, empty one). */
  db: Firestore;
  logger: Logger;
  /** Write into a database that already has documents (they are kept or overwritten). */
  force?: boolean;
  /** The key escrow the backup's subject keys were sealed with (format 2). */
  escrow: KeyEscrow;
  /** The erasure ledger's own store (outside any database): the source of erasures since the backup. */
  ledger: LedgerSource;
  /** Erases again every subject in the ledger, on the restored data, before anyone reads it. */
  replayErasureLedger: ErasureLedgerReplay;
}

export interface RestoreResult {
  manifest: Manifest;
  documents: number;
  erasuresReplayed: number;
}

/**
 * Restores a logical backup into a new database: fetch every file, verify each file's sha256
 * and document count against the manifest BEFORE writing anything, refuse a non-empty target
 * (unless forced), write with BulkWriter, count again, then replay the erasure ledger so data
 * erased since the backup does not come back. Only after that is the database fit for use.
 */
export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
  const staging = await mkdtemp(join(tmpdir(), 'tsi-restore-'));
  try {
    const manifestFile = join(staging, MANIFEST_NAME);
    try {
      await opts.store.fetch(opts.backupId, MANIFEST_NAME, manifestFile);
    } catch (e) {
      throw new BackupVerificationError(`No manifest at ${opts.store.describe(opts.backupId)} (missing or incomplete backup): ${(e as Error).message}`);
    }
    const parsed = ManifestSchema.safeParse(JSON.parse(await readFile(manifestFile, 'utf8')));
    if (!parsed.success) throw new BackupVerificationError(`The manifest is invalid: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    const manifest = parsed.data;

    for (const f of manifest.files) {
      const local = join(staging, f.name);
      await opts.store.fetch(opts.backupId, f.name, local);
      const sha = await sha256File(local);
      if (sha !== f.sha256) throw new BackupVerificationError(`${f.name}: checksum mismatch (manifest ${f.sha256.slice(0, 12)}…, file ${sha.slice(0, 12)}…); nothing was restored.`);
      let count = 0;
      for await (const line of lines(local)) {
        const doc = JSON.parse(line) as { path?: unknown; fields?: unknown };
        if (typeof doc.path !== 'string' || typeof doc.fields !== 'object' || doc.fields === null) throw new BackupVerificationError(`${f.name}: line ${count + 1} is not a document.`);
        count++;
      }
      if (count !== f.documents) throw new BackupVerificationError(`${f.name}: ${count} documents, manifest says ${f.documents}; nothing was restored.`);
    }
    const total = manifest.files.reduce((n, f) => n + f.documents, 0);
    if (total !== manifest.total_documents) throw new BackupVerificationError(`The manifest's files hold ${total} documents but its total says ${manifest.total_documents}.`);

    const entries = mergeLedgers(await opts.ledger.list(), await ledgerCopy(opts.store, opts.backupId, manifest, staging), await newestLedgerCopy(opts.store, opts.backupId, staging));
    const keys = await resolveSubjectKeys(opts.db, manifest, staging, opts.escrow, entries);

    if (!opts.force && (await opts.db.listCollections()).length > 0) {
      throw new TargetNotEmptyError(`The target database is not empty; restore into a new database (or pass --force).`);
    }

    const writer = opts.db.bulkWriter();
    const failed: string[] = [];
    writer.onWriteError((e) => {
      if (e.failedAttempts < 5) return true;
      failed.push(`${e.documentRef.path}: ${e.message}`);
      return false;
    });
    for (const f of manifest.files) {
      for await (const line of lines(join(staging, f.name))) {
        const doc = JSON.parse(line) as { path: string; fields: Record<string, unknown> };
        void writer.set(opts.db.doc(doc.path), decodeFields(opts.db, keys.get(doc.path) ?? doc.fields)).catch(() => undefined);
      }
    }
    await writer.close();
    if (failed.length) throw new Error(`${failed.length} document(s) could not be written, e.g. ${failed[0]}.`);

    let documents = 0;
    await walkDatabase(opts.db, async () => {
      documents++;
    });
    if (!opts.force && documents !== manifest.total_documents) {
      throw new BackupVerificationError(`After the restore the database holds ${documents} documents; the manifest says ${manifest.total_documents}.`);
    }
    const { replayed } = await opts.replayErasureLedger(opts.db, { backupStartedAt: manifest.started_at, logger: opts.logger, entries });
    opts.logger.info('backup restored', { backup_id: manifest.backup_id, documents, erasures_replayed: replayed });
    return { manifest, documents, erasuresReplayed: replayed };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function lines(file: string): AsyncIterable<string> {
  const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  return (async function* () {
    for await (const line of rl) if (line) yield line;
  })();
}

/** The backup's own copy of the erasure ledger (format 2), verified against the manifest. */
async function ledgerCopy(store: BackupStore, backupId: string, manifest: Manifest, staging: string): Promise<LedgerEntry[]> {
  if (!manifest.ledger) return [];
  const file = join(staging, `${backupId}.${LEDGER_COPY_NAME}`);
  await store.fetch(backupId, LEDGER_COPY_NAME, file);
  const sha = await sha256File(file);
  if (sha !== manifest.ledger.sha256) throw new BackupVerificationError(`${LEDGER_COPY_NAME}: checksum mismatch; nothing was restored.`);
  const parsed = LedgerEntrySchema.array().safeParse((JSON.parse(await readFile(file, 'utf8')) as { entries?: unknown }).entries);
  if (!parsed.success || parsed.data.length !== manifest.ledger.entries) throw new BackupVerificationError(`${LEDGER_COPY_NAME}: not the ledger the manifest describes; nothing was restored.`);
  return parsed.data;
}

/** The newest backup's ledger copy: erasures after this backup, should the ledger store be lost. */
async function newestLedgerCopy(store: BackupStore, backupId: string, staging: string): Promise<LedgerEntry[]> {
  const newest = (await store.list()).filter((id) => id > backupId).at(-1);
  if (!newest) return [];
  const file = join(staging, `${newest}.${MANIFEST_NAME}`);
  try {
    await store.fetch(newest, MANIFEST_NAME, file);
  } catch {
    return []; // incomplete (no manifest yet): nothing to learn from it
  }
  const parsed = ManifestSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  return parsed.success ? ledgerCopy(store, newest, parsed.data, staging) : [];
}

/**
 * Every subject key line of the backup in the form to write: opened from the escrow, or a
 * tombstone when the ledger lists the subject's erasure. Read before anything is written.
 */
async function resolveSubjectKeys(db: Firestore, manifest: Manifest, staging: string, escrow: KeyEscrow, ledger: readonly LedgerEntry[]): Promise<Map<string, Record<string, Encoded>>> {
  const out = new Map<string, Record<string, Encoded>>();
  const erased = new Map(ledger.map((e) => [e.subject_index, e]));
  const lost: string[] = [];
  for (const f of manifest.files.filter((x) => x.collection_group === SUBJECT_KEYS_COLLECTION)) {
    for await (const line of lines(join(staging, f.name))) {
      const doc = JSON.parse(line) as { path: string; fields: Record<string, unknown> };
      const fields = decodeFields(db, doc.fields);
      const r = await escrow.importKey(fields);
      if (r.state === 'restored') out.set(doc.path, encodeFields(r.data));
      if (r.state !== 'missing') continue;
      const entry = erased.get(r.keyId);
      if (!entry || entry.key_generation < r.generation) {
        lost.push(r.keyId);
        continue;
      }
      const { escrowed: _e, ...rest } = fields;
      out.set(doc.path, encodeFields({ ...rest, state: 'destroyed', wrapped_dek: null, kek_version: null, destroyed_at: entry.completed_at ?? entry.recorded_at, rewrapped_at: null }));
    }
  }
  if (lost.length) {
    throw new BackupVerificationError(
      `${lost.length} subject key(s) of this backup have no entry in the key escrow ${escrow.describe()} and were never erased (e.g. ${lost[0]!.slice(0, 8)}…): restore needs the vault the backup was made with; nothing was restored.`,
    );
  }
  return out;
}
