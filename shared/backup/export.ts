import type { Firestore } from '@google-cloud/firestore';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createGzip, type Gzip } from 'node:zlib';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { encodeFields, type DocumentLine } from './codec.js';
import type { KeyEscrow } from '../crypto/escrow.js';
import { SUBJECT_KEYS_COLLECTION } from '../crypto/subject-keys.js';
import { mergeLedgers, type LedgerEntry, type LedgerSource } from './ledger.js';
import { BACKUP_FORMAT_VERSION, LEDGER_COPY_NAME, MANIFEST_NAME, ManifestSchema, backupIdFor, fileNameFor, type BackupFile, type Manifest } from './manifest.js';
import type { BackupStore } from './store.js';
import { walkDatabase } from './walk.js';

export interface CreateBackupOptions {
  /** A client made with `backupFirestore()` (reads integers as BigInt, so int64 is exact). */
  db: Firestore;
  store: BackupStore;
  source: { project: string; database: string };
  clock: Clock;
  logger: Logger;
  /** Where live subject keys are escrowed; erasure destroys a subject's entry (docs/decisions/0035). */
  escrow: KeyEscrow;
  /** The erasure ledger's own store: a copy goes into the backup. */
  ledger: LedgerSource;
}

interface GroupWriter {
  file: string;
  name: string;
  template: string;
  gzip: Gzip;
  out: WriteStream;
  documents: number;
}

/**
 * A logical backup: every document of every collection (subcollections included), as stored —
 * fields that are encrypted stay encrypted, nothing is decrypted — one gzip NDJSON file per
 * collection group, then manifest.json with counts and sha256 per file. Files are staged in a
 * private temp folder and the manifest is uploaded last, so a backup without a manifest is
 * incomplete and restore refuses it.
 *
 * Not a point-in-time snapshot: documents written during the export may or may not be in it;
 * each document is read whole. `started_at` is what RPO is measured from.
 *
 * Subject keys are the exception to "as stored": a live key leaves the database only sealed under
 * its subject's escrow key (KeyEscrow), never wrapped by the KEK alone, and a key the erasure
 * ledger lists is exported as a tombstone. The backup also carries a copy of the ledger.
 */
export async function createBackup(opts: CreateBackupOptions): Promise<Manifest> {
  const started = opts.clock.now();
  const backupId = backupIdFor(started);
  const staging = await mkdtemp(join(tmpdir(), 'tsi-backup-'));
  const groups = new Map<string, GroupWriter>();
  const taken = new Set<string>();
  const erased = new Map(mergeLedgers(await opts.ledger.list()).map((e) => [e.subject_index, e.key_generation]));
  const escrowed = new Map<string, number>();
  try {
    await walkDatabase(opts.db, async (ids, snap) => {
      const template = ids.join('/*/');
      let g = groups.get(template);
      if (!g) {
        const name = fileNameFor(ids, taken);
        taken.add(name);
        const file = join(staging, name);
        const gzip = createGzip();
        const out = createWriteStream(file, { mode: 0o600 });
        gzip.pipe(out);
        g = { file, name, template, gzip, out, documents: 0 };
        groups.set(template, g);
      }
      let data = snap.data() ?? {};
      if (ids.length === 1 && ids[0] === SUBJECT_KEYS_COLLECTION) {
        const generation = Number(data.generation);
        if (generation <= (erased.get(snap.id) ?? 0)) data = { ...data, state: 'destroyed', wrapped_dek: null, kek_version: null };
        else if (data.state === 'active') escrowed.set(snap.id, generation);
        data = await opts.escrow.exportKey(data);
      }
      const line: DocumentLine = { path: snap.ref.path, fields: encodeFields(data) };
      g.documents++;
      if (!g.gzip.write(JSON.stringify(line) + '\n')) await once(g.gzip, 'drain');
    });
    const files: BackupFile[] = [];
    for (const g of [...groups.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      g.gzip.end();
      await once(g.out, 'close');
      files.push({ name: g.name, collection_group: g.template, documents: g.documents, sha256: await sha256File(g.file), bytes: (await stat(g.file)).size });
      await opts.store.put(backupId, g.name, g.file);
    }
    // The ledger as of the end of the export; an erasure that ran meanwhile may have found its
    // escrow entry gone and this export made it again: destroyed again here.
    const ledger = mergeLedgers(await opts.ledger.list());
    for (const e of ledger) if ((escrowed.get(e.subject_index) ?? Infinity) <= e.key_generation) await opts.escrow.destroy(e.subject_index);
    const ledgerFile = join(staging, LEDGER_COPY_NAME);
    await writeFile(ledgerFile, JSON.stringify({ entries: ledger } satisfies { entries: LedgerEntry[] }) + '\n', { mode: 0o600 });
    await opts.store.put(backupId, LEDGER_COPY_NAME, ledgerFile);
    const manifest = ManifestSchema.parse({
      format_version: BACKUP_FORMAT_VERSION,
      backup_id: backupId,
      started_at: started.toISOString(),
      finished_at: opts.clock.now().toISOString(),
      source: opts.source,
      files,
      total_documents: files.reduce((n, f) => n + f.documents, 0),
      encryption: 'as-stored',
      subject_keys: 'escrowed',
      ledger: { name: LEDGER_COPY_NAME, entries: ledger.length, sha256: await sha256File(ledgerFile) },
    } satisfies Manifest);
    const manifestFile = join(staging, MANIFEST_NAME);
    await writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
    await opts.store.put(backupId, MANIFEST_NAME, manifestFile);
    opts.logger.info('backup created', { backup_id: backupId, location: opts.store.describe(backupId), documents: manifest.total_documents, files: files.length });
    return manifest;
  } finally {
    for (const g of groups.values()) if (!g.out.closed) g.out.destroy();
    await rm(staging, { recursive: true, force: true });
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
