import path from 'node:path';
import { createBackup } from '../../shared/backup/export.js';
import { backupFirestore } from '../../shared/backup/firestore.js';
import { restoreBackup } from '../../shared/backup/restore.js';
import { LocalFolderBackupStore } from '../../shared/backup/store.js';
import { buildCompliance } from '../../shared/compliance/index.js';
import { createErasureLedgerReplay } from '../../shared/compliance/erasure/ledger.js';
import { openVault } from '../../shared/compliance/erasure/vault.js';
import { subjectCryptoFrom } from '../../shared/compliance/subject-crypto.js';
import { compliance, quiet, seedInvestigation, startFixture, type Fixture } from './compliance-fixture.js';
import { startGcsStandIn, type GcsStandIn } from './gcs-standin.js';

/**
 * The production vault (erasure ledger + key escrow) in Cloud Storage, through the real
 * @google-cloud/storage client against the GCS stand-in: a versioned bucket, so deleting an escrow
 * entry must also delete its noncurrent versions.
 */
const JOHN = { type: 'email' as const, value: 'john.doe@example.com' };
let gcs: GcsStandIn;
let f: Fixture;
beforeAll(async () => {
  gcs = await startGcsStandIn();
});
afterAll(() => gcs.close());
beforeEach(async () => {
  f = await startFixture();
});
afterEach(() => f.stop());

const vault = () => openVault({ adapters: { store: 'firestore' }, dataDir: '/nonexistent', projectId: 'tsi-prod' }, { vaultBucket: 'versioned-tsi-vault', apiEndpoint: gcs.endpoint, clock: f.clock });

it('keeps the ledger and escrow in the bucket; erasure deletes every version of the escrow entry; restore reads them back', async () => {
  const v = vault();
  const c = buildCompliance({ db: f.db, crypto: subjectCryptoFrom(f.dp), audit: f.audit, publisher: f.publisher, clock: f.clock, logger: quiet, vault: v });
  await seedInvestigation(f, JOHN, { question: 'john.doe@example.com?' });
  const index = await f.dp.blindIndex(JOHN);
  const escrowKey = `versioned-tsi-vault/vault/key-escrow/${index}.json`;
  const source = backupFirestore({ projectId: 'test', emulatorHost: f.host });
  const store = new LocalFolderBackupStore(path.join(f.dir, 'backups'));
  const manifest = await createBackup({ db: source, store, source: { project: 'test', database: '(default)' }, clock: f.clock, logger: quiet, escrow: v.escrow, ledger: v.ledger });
  // A second backup reuses the entry (created once; `ifGenerationMatch: 0`).
  f.clock.advance(1000);
  await createBackup({ db: source, store, source: { project: 'test', database: '(default)' }, clock: f.clock, logger: quiet, escrow: v.escrow, ledger: v.ledger });
  await source.terminate();
  expect(gcs.objects.get(escrowKey)).toHaveLength(1);

  const { doc } = await c.erasure.request(JOHN, compliance);
  const done = await c.erasure.execute(doc.id);
  expect(done.status).toBe('completed');
  expect(gcs.objects.has(escrowKey)).toBe(false); // no live object and no noncurrent version
  expect(gcs.requests).toContainEqual(expect.stringMatching(/^DELETE \/storage\/v1\/b\/versioned-tsi-vault\/o\/.*key-escrow.*\?generation=\d+$/));
  const ledger = JSON.parse(gcs.live().get(`versioned-tsi-vault/vault/erasure-ledger/${index}.json`)!.toString('utf8'));
  expect(ledger).toMatchObject({ subject_index: index, erasure_id: doc.id, key_generation: 1, completed_at: done.completed_at });
  expect(JSON.stringify(ledger)).not.toMatch(/john/i);
  expect(done.receipt!.stores.find((s) => s.store === 'erasure ledger')!.note).toContain('gs://versioned-tsi-vault/vault/erasure-ledger');

  // A fresh process's vault on the same bucket replays the erasure into a restored copy.
  const target = backupFirestore({ projectId: 'test', databaseId: 'restored-gcs', emulatorHost: f.host });
  try {
    const again = vault();
    const result = await restoreBackup({ store, backupId: manifest.backup_id, db: target, logger: quiet, escrow: again.escrow, ledger: again.ledger, replayErasureLedger: createErasureLedgerReplay(() => subjectCryptoFrom(f.dp)) });
    expect(result.erasuresReplayed).toBe(1);
    expect((await target.collection('subject_keys').doc(index).get()).get('state')).toBe('destroyed');
  } finally {
    await target.terminate();
  }
}, 30_000);

it('without a vault bucket in production, erasure fails saying what to set, and changes nothing', async () => {
  const v = openVault({ adapters: { store: 'firestore' }, dataDir: '/nonexistent', projectId: 'tsi-prod' });
  const c = buildCompliance({ db: f.db, crypto: subjectCryptoFrom(f.dp), audit: f.audit, publisher: f.publisher, clock: f.clock, logger: quiet, vault: v });
  const seeded = await seedInvestigation(f, JOHN, {});
  const { doc } = await c.erasure.request(JOHN, compliance);
  await expect(c.erasure.execute(doc.id)).rejects.toThrow(/set TSI_VAULT_BUCKET for the erasure and backup functions/);
  expect((await f.dp.subjectKeyStatus(JOHN))?.state).toBe('active');
  expect((await f.db.collection('investigations').doc(seeded.id).get()).get('erased_at')).toBeUndefined();
});

it('create writes only when the name is free (the first of two creators wins), and list/get/delete round-trip', async () => {
  const { blobs } = vault();
  await expect(blobs.create('key-escrow/abc.json', '{"n":1}')).resolves.toBe(true);
  await expect(blobs.create('key-escrow/abc.json', '{"n":2}')).resolves.toBe(false);
  await expect(blobs.get('key-escrow/abc.json')).resolves.toBe('{"n":1}');
  await blobs.put('key-escrow/abc.json', '{"n":3}'); // a versioned bucket now holds two generations
  expect(gcs.objects.get('versioned-tsi-vault/vault/key-escrow/abc.json')).toHaveLength(2);
  await expect(blobs.list('key-escrow')).resolves.toEqual(['key-escrow/abc.json']);
  await blobs.delete('key-escrow/abc.json');
  expect(gcs.objects.has('versioned-tsi-vault/vault/key-escrow/abc.json')).toBe(false);
  await expect(blobs.get('key-escrow/abc.json')).resolves.toBeNull();
});
