import type { Firestore } from '@google-cloud/firestore';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Logger } from '../platform/logger.js';
import { decodeFields } from './codec.js';
import { sha256File } from './export.js';
import { noErasureLedger, type ErasureLedgerReplay } from './ledger.js';
import { MANIFEST_NAME, ManifestSchema, type Manifest } from './manifest.js';
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
  replayErasureLedger?: ErasureLedgerReplay;
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
        void writer.set(opts.db.doc(doc.path), decodeFields(opts.db, doc.fields)).catch(() => undefined);
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
    const replay = opts.replayErasureLedger ?? noErasureLedger;
    const { replayed } = await replay(opts.db, { backupStartedAt: manifest.started_at, logger: opts.logger });
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
