import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Firestore } from '@google-cloud/firestore';
import { createBackup } from '../../shared/backup/export.js';
import { backupFirestore } from '../../shared/backup/firestore.js';
import { restoreBackup } from '../../shared/backup/restore.js';
import { LocalFolderBackupStore } from '../../shared/backup/store.js';
import { walkDatabase } from '../../shared/backup/walk.js';
import { createErasureLedgerReplay } from '../../shared/compliance/erasure/ledger.js';
import { subjectCryptoFrom } from '../../shared/compliance/subject-crypto.js';
import { BlindIndexer } from '../../shared/crypto/blind-index.js';
import { LocalKek } from '../../shared/crypto/kek/local.js';
import { DataProtection } from '../../shared/crypto/service.js';
import { SubjectKeyring } from '../../shared/crypto/subject-keys.js';
import { InvestigationPii } from '../../shared/investigations/pii.js';
import { InvestigationStore } from '../../shared/investigations/store.js';
import { LocalSecretStore } from '../../shared/secrets/local.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';
import { compliance, dumpAll, quiet, seedInvestigation, startFixture, type Fixture } from './compliance-fixture.js';

/**
 * Crypto-shredding reaches backups (docs/decisions/0035): a backup taken before an erasure,
 * restored after it with the live database gone, yields nothing of the subject — not the subject
 * value, the question, the comments or any mention — and its files alone hold no usable key.
 */
const JOHN = { type: 'email' as const, value: 'john.doe@example.com' };
const BOB = { type: 'email' as const, value: 'bob@example.org' };
const PLAINTEXT = /john\.doe@example\.com|j\*\*\*@example\.com|called him today|is john sharing/i;

describe('a backup taken before an erasure, restored after it', () => {
  let f: Fixture;
  const opened: { stop(): Promise<void> }[] = [];
  beforeEach(async () => {
    f = await startFixture();
  });
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.stop();
    await f.stop();
  });

  /** A fresh emulator in its own folder: the database the backup is restored into. */
  async function freshDatabase(name: string) {
    const server = new LocalFirestoreServer({ dataDir: path.join(f.dir, name), logger: quiet });
    const { host, port } = await server.start(0);
    const admin = backupFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
    const app = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
    opened.push({ stop: async () => (await admin.terminate(), await app.terminate(), await server.stop()) });
    return { admin, app };
  }

  /** What a reader on the restored database gets: the same key files (KEK, blind-index key), new caches. */
  function readerOn(db: Firestore) {
    const dp = new DataProtection({ keyring: new SubjectKeyring({ db, kek: new LocalKek(path.join(f.dir, 'keys')), clock: f.clock }), indexer: new BlindIndexer(new LocalSecretStore(path.join(f.dir, 'secrets'))) });
    return { dp, store: new InvestigationStore(db, new InvestigationPii(dp), f.clock) };
  }

  async function restore(backupId: string, into: { admin: Firestore }) {
    return restoreBackup({
      store: new LocalFolderBackupStore(path.join(f.dir, 'backups')),
      backupId,
      db: into.admin,
      logger: quiet,
      escrow: f.vault.escrow,
      ledger: f.vault.ledger,
      replayErasureLedger: createErasureLedgerReplay((db) => subjectCryptoFrom(readerOn(db).dp)),
    });
  }

  /** Every investigation and comment of a database as a reader allowed to see personal data gets it. */
  async function readEverything(db: Firestore): Promise<string> {
    const { store } = readerOn(db);
    const out: unknown[] = [];
    for (const d of (await db.collection('investigations').get()).docs) {
      const inv = (await store.get(d.id))!;
      out.push(await store.reveal(inv, { subject: true, question: true }), await store.listComments(d.id));
    }
    return JSON.stringify(out);
  }

  it('reads nothing of the subject, while the same backup restored before the erasure reads everything', async () => {
    const about = await seedInvestigation(f, JOHN, { question: 'Is John sharing a card with john.doe@example.com?' }, { comments: ['called him today about john.doe@example.com'] });
    await seedInvestigation(f, BOB, { summary: 'no link' }, { comments: ['Linked: john.doe@example.com (same device).'] });
    const source = backupFirestore({ projectId: 'test', emulatorHost: f.host });
    const manifest = await createBackup({ db: source, store: new LocalFolderBackupStore(path.join(f.dir, 'backups')), source: { project: 'test', database: '(default)' }, clock: f.clock, logger: quiet, escrow: f.vault.escrow, ledger: f.vault.ledger });
    await source.terminate();

    // The backup is a working backup: restored before the erasure, everything reads back.
    const before = await freshDatabase('restored-before');
    await restore(manifest.backup_id, before);
    const readable = await readEverything(before.app);
    expect(readable).toContain('john.doe@example.com');
    expect(readable).toContain('called him today');
    expect(readable).toContain('Is John sharing a card');
    expect(readable).toContain('bob@example.org');

    // The backup's files hold the sealed fields only as ciphertext ...
    const files = fs.readdirSync(path.join(f.dir, 'backups', manifest.backup_id)).filter((n) => n.endsWith('.gz'));
    const raw = files.map((n) => gunzipSync(fs.readFileSync(path.join(f.dir, 'backups', manifest.backup_id, n))).toString('utf8')).join('\n');
    expect(raw).not.toMatch(/john\.doe@example\.com|called him today|is john sharing/i);
    // ... and no data key the KEK alone opens: John's key is only escrowed.
    const keyLines = gunzipSync(fs.readFileSync(path.join(f.dir, 'backups', manifest.backup_id, 'subject_keys.ndjson.gz'))).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    const johnIndex = await f.dp.blindIndex(JOHN);
    const johnKey = keyLines.find((l) => l.path === `subject_keys/${johnIndex}`)!;
    expect(johnKey.fields.wrapped_dek).toBeNull();
    expect(johnKey.fields.escrowed).toEqual(expect.stringMatching(/^e1\./));
    expect(await f.vault.escrow.has(johnIndex)).toBe(true);

    const { doc } = await f.compliance.erasure.request(JOHN, compliance);
    expect((await f.compliance.erasure.execute(doc.id)).status).toBe('completed');
    expect(await f.vault.escrow.has(johnIndex)).toBe(false);

    // The live database is gone.
    const gone: string[] = [];
    await walkDatabase(f.db, async (_ids, snap) => void gone.push(snap.ref.path));
    for (const p of gone) await f.db.doc(p).delete();
    expect(await f.db.listCollections()).toEqual([]);

    const after = await freshDatabase('restored-after');
    const result = await restore(manifest.backup_id, after);
    expect(result.erasuresReplayed).toBe(1);
    const text = await readEverything(after.app);
    expect(text).not.toMatch(PLAINTEXT);
    expect(text).toContain('bob@example.org'); // everyone else is restored
    for (const [p, t] of await dumpAll(after.app)) expect({ path: p, plaintext: PLAINTEXT.test(t) }).toEqual({ path: p, plaintext: false });
    // John's key is a tombstone, and the investigation's sealed subject no longer opens anywhere.
    expect((await after.app.collection('subject_keys').doc(johnIndex).get()).get('wrapped_dek')).toBeNull();
    const sealed = (await after.app.collection('investigations').doc(about.id).get()).get('subject.sealed') as string;
    await expect(readerOn(after.app).dp.reveal({ envelope: sealed, docPath: `investigations/${about.id}`, field: 'subject.value' })).resolves.toEqual({ ok: false, erased: true });
    // Without the ledger replay the backup's key still cannot be opened: its escrow entry is gone.
    await expect(f.vault.escrow.importKey(johnKey.fields)).resolves.toMatchObject({ state: 'missing' });
  });

  it('refuses to restore keys it cannot account for (another vault), before writing anything', async () => {
    await seedInvestigation(f, JOHN, {});
    const source = backupFirestore({ projectId: 'test', emulatorHost: f.host });
    const manifest = await createBackup({ db: source, store: new LocalFolderBackupStore(path.join(f.dir, 'backups')), source: { project: 'test', database: '(default)' }, clock: f.clock, logger: quiet, escrow: f.vault.escrow, ledger: f.vault.ledger });
    await source.terminate();
    fs.rmSync(path.join(f.dir, 'vault', 'key-escrow'), { recursive: true });
    const target = await freshDatabase('restored-lost');
    await expect(restore(manifest.backup_id, target)).rejects.toThrow(/have no entry in the key escrow .* and were never erased .*restore needs the vault the backup was made with; nothing was restored/);
    expect(await target.admin.listCollections()).toEqual([]);
  });
});
