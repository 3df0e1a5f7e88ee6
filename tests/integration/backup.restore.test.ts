import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { FieldValue, GeoPoint, Timestamp, type Firestore } from '@google-cloud/firestore';
import { compareDatabases } from '../../shared/backup/compare.js';
import { createBackup } from '../../shared/backup/export.js';
import { backupFirestore } from '../../shared/backup/firestore.js';
import { BackupVerificationError, TargetNotEmptyError, restoreBackup } from '../../shared/backup/restore.js';
import { LocalFolderBackupStore } from '../../shared/backup/store.js';
import { LocalFolderBlobStore } from '../../shared/backup/blob-store.js';
import { createErasureLedgerReplay } from '../../shared/compliance/erasure/ledger.js';
import { vaultOn, type Vault } from '../../shared/compliance/erasure/vault.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

describe('logical backup and restore (embedded emulator, real client)', () => {
  let server: LocalFirestoreServer;
  let host: string;
  let source: Firestore;
  let dir: string;
  let store: LocalFolderBackupStore;
  const clients: Firestore[] = [];
  const logs: string[] = [];
  const logger = new Logger({}, (l) => logs.push(l));
  const clock = new ManualClock(new Date('2026-03-01T09:00:00Z'));
  let backupId: string;
  let vault: Vault;
  /** What every restore needs besides the backup: the vault (escrow, ledger) and the ledger replay. */
  const deps = () => ({ escrow: vault.escrow, ledger: vault.ledger, replayErasureLedger: createErasureLedgerReplay(null) });

  const database = (id: string) => {
    const db = backupFirestore({ projectId: 'test', databaseId: id, emulatorHost: host });
    clients.push(db);
    return db;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-backup-'));
    server = new LocalFirestoreServer({ dataDir: path.join(dir, 'data'), logger: new Logger({}, () => {}) });
    const started = await server.start(0);
    host = `${started.host}:${started.port}`;
    // The app's own client writes the data, as in production.
    const app = createFirestore({ projectId: 'test', emulatorHost: host });
    await app.doc('investigations/inv1').set({
      status: 'completed',
      count: 3,
      big: 9_007_199_254_740_000,
      score: 0.75,
      at: new Timestamp(1_767_225_600, 5_000_000),
      blob: Buffer.from('ciphertext:\x00\x01'),
      owner: app.doc('role_bindings/lead@example.com'),
      where: new GeoPoint(48.85, 2.35),
      tags: ['a', 1, null, { nested: true }],
      meta: { deep: { deeper: 'x' }, empty: {} },
      nothing: null,
    });
    await app.doc('investigations/inv1/comments/c1').set({ body: 'first', at: FieldValue.serverTimestamp() });
    await app.doc('investigations/inv1/comments/c2').set({ body: 'second' });
    await app.doc('investigations/inv2').set({ status: 'queued' });
    await app.doc('orphans/ghost/items/i1').set({ kept: true }); // parent document does not exist
    await app.doc('role_bindings/lead@example.com').set({ roles: ['lead'] });
    await app.terminate();

    source = database('(default)');
    store = new LocalFolderBackupStore(path.join(dir, 'backups'));
    vault = vaultOn(new LocalFolderBlobStore(path.join(dir, 'vault')), clock);
    const manifest = await createBackup({ db: source, store, source: { project: 'test', database: '(default)' }, clock, logger, escrow: vault.escrow, ledger: vault.ledger });
    backupId = manifest.backup_id;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.terminate()));
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const backupDir = () => path.join(dir, 'backups', backupId);
  const readManifest = () => JSON.parse(fs.readFileSync(path.join(backupDir(), 'manifest.json'), 'utf8'));

  it('writes one gzip NDJSON file per collection group and a manifest with counts and checksums', () => {
    const manifest = readManifest();
    expect(manifest).toMatchObject({ format_version: 2, backup_id: 'backup-20260301T090000000Z', source: { project: 'test', database: '(default)' }, total_documents: 6, encryption: 'as-stored', subject_keys: 'escrowed', ledger: { name: 'erasure-ledger.json', entries: 0 } });
    expect(manifest.files.map((f: any) => [f.name, f.collection_group, f.documents])).toEqual([
      ['investigations.comments.ndjson.gz', 'investigations/*/comments', 2],
      ['investigations.ndjson.gz', 'investigations', 2],
      ['orphans.items.ndjson.gz', 'orphans/*/items', 1],
      ['role_bindings.ndjson.gz', 'role_bindings', 1],
    ]);
    const lines = gunzipSync(fs.readFileSync(path.join(backupDir(), 'investigations.ndjson.gz'))).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ path: 'investigations/inv1', fields: { blob: { $bytes: Buffer.from('ciphertext:\x00\x01').toString('base64') }, count: { $int: '3' } } });
  });

  it('restores into a new database exactly: every document, field by field, subcollections included', async () => {
    const target = database('restored-1');
    const result = await restoreBackup({ store, backupId, db: target, logger, ...deps() });
    expect(result.documents).toBe(6);
    const { documents, differences } = await compareDatabases(source, target);
    expect(documents).toBe(6);
    expect(differences).toEqual([]);
    const inv = (await target.doc('investigations/inv1').get()).data()!;
    expect(inv.big).toBe(9_007_199_254_740_000n);
    expect(inv.owner.path).toBe('role_bindings/lead@example.com');
    expect(result.erasuresReplayed).toBe(0);
  });

  it('replays the erasure ledger on the restored data before returning', async () => {
    const target = database('restored-2');
    const result = await restoreBackup({
      store,
      backupId,
      db: target,
      logger,
      ...deps(),
      replayErasureLedger: async (db, { backupStartedAt }) => {
        expect(backupStartedAt).toBe('2026-03-01T09:00:00.000Z');
        await db.doc('investigations/inv2').delete();
        return { replayed: 1 };
      },
    });
    expect(result.erasuresReplayed).toBe(1);
    expect((await target.doc('investigations/inv2').get()).exists).toBe(false);
  });

  it('refuses a non-empty target unless forced', async () => {
    await expect(restoreBackup({ store, backupId, db: source, logger, ...deps() })).rejects.toBeInstanceOf(TargetNotEmptyError);
    await expect(restoreBackup({ store, backupId, db: source, logger, force: true, ...deps() })).resolves.toMatchObject({ documents: 6 });
  });

  function tamperedCopy(change: (dir: string) => void): string {
    const copyId = `${backupId}-tampered-${Math.random().toString(36).slice(2, 8)}`;
    fs.cpSync(backupDir(), path.join(dir, 'backups', copyId), { recursive: true });
    change(path.join(dir, 'backups', copyId));
    return copyId;
  }

  it('refuses a file whose checksum does not match, before writing anything', async () => {
    const id = tamperedCopy((d) => {
      const file = path.join(d, 'role_bindings.ndjson.gz');
      const text = gunzipSync(fs.readFileSync(file)).toString().replace('lead', 'admin');
      fs.writeFileSync(file, gzipSync(text));
    });
    const target = database('tampered-1');
    await expect(restoreBackup({ store, backupId: id, db: target, logger, ...deps() })).rejects.toThrow(/role_bindings\.ndjson\.gz: checksum mismatch/);
    expect(await target.listCollections()).toEqual([]);
  });

  it('refuses a count that does not match the manifest, before writing anything', async () => {
    const id = tamperedCopy((d) => {
      const m = JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));
      m.files[1].documents = 3;
      m.total_documents = 7;
      fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(m));
    });
    const target = database('tampered-2');
    const err = await restoreBackup({ store, backupId: id, db: target, logger, ...deps() }).catch((e) => e);
    expect(err).toBeInstanceOf(BackupVerificationError);
    expect(err.message).toMatch(/investigations\.ndjson\.gz: 2 documents, manifest says 3/);
    expect(await target.listCollections()).toEqual([]);
  });

  it('refuses a backup without a manifest (incomplete)', async () => {
    const id = tamperedCopy((d) => fs.rmSync(path.join(d, 'manifest.json')));
    await expect(restoreBackup({ store, backupId: id, db: database('tampered-3'), logger, ...deps() })).rejects.toThrow(/No manifest/);
  });
});
