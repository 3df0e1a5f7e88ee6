import fs from 'node:fs';
import path from 'node:path';
import { createBackup } from '../../shared/backup/export.js';
import { backupFirestore } from '../../shared/backup/firestore.js';
import { LocalFolderBackupStore } from '../../shared/backup/store.js';
import { DEFAULT_BACKUP_RETENTION_DAYS, buildCompliance } from '../../shared/compliance/index.js';
import { FIRESTORE_HISTORY_DAYS } from '../../shared/compliance/erasure/service.js';
import { subjectCryptoFrom } from '../../shared/compliance/subject-crypto.js';
import { ResultCache } from '../../shared/guard/cache.js';
import { DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { compliance, quiet, seedInvestigation, startFixture, type Fixture } from './compliance-fixture.js';

/**
 * Every statement an erasure receipt makes, checked against what is true (issue 16): the receipt
 * is what an auditor is shown. The backup statement itself ("restoring one reads nothing of the
 * subject") is shown end to end by backup.erasure.test.ts.
 */
const JOHN = { type: 'email' as const, value: 'john.doe@example.com' };
const PLAINTEXT = /john\.doe@example\.com|j\*\*\*@example\.com/i;
const TERRAFORM = path.resolve('terraform/modules/platform');

describe('the erasure receipt', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await startFixture();
  });
  afterEach(() => f.stop());

  async function eraseAfterBackup() {
    await seedInvestigation(f, JOHN, { question: 'is john.doe@example.com sharing?' }, { comments: ['called john.doe@example.com'] });
    const source = backupFirestore({ projectId: 'test', emulatorHost: f.host });
    await createBackup({ db: source, store: new LocalFolderBackupStore(path.join(f.dir, 'backups')), source: { project: 'test', database: '(default)' }, clock: f.clock, logger: quiet, escrow: f.vault.escrow, ledger: f.vault.ledger });
    await source.terminate();
    const { doc } = await f.compliance.erasure.request(JOHN, compliance);
    return f.compliance.erasure.execute(doc.id);
  }

  it('each store line is true: key destroyed, escrow entry deleted, ledger outside the database', async () => {
    const index = await f.dp.blindIndex(JOHN);
    const done = await eraseAfterBackup();
    const r = done.receipt!;
    const store = (name: string) => r.stores.find((s) => s.store === name)!;

    expect(store('subject_keys')).toMatchObject({ deleted: 1, note: 'data key destroyed (crypto-shredding)' });
    expect((await f.db.collection('subject_keys').doc(index).get()).data()).toMatchObject({ state: 'destroyed', wrapped_dek: null, kek_version: null });

    expect(store('key escrow (backups)').deleted).toBe(1);
    expect(r.backups.key_escrow_destroyed).toBe(true);
    expect(await f.vault.escrow.has(index)).toBe(false);

    expect(store('erasure ledger').note).toContain(path.join(f.dir, 'vault', 'erasure-ledger'));
    expect(await f.vault.ledger.get(index)).toMatchObject({ erasure_id: done.id, key_generation: r.key.generation, completed_at: r.completed_at });
    expect((await f.db.collection('erasure_ledger').get()).empty).toBe(true); // not in the database it protects

    // "erasure records name the subject by pseudonym only"
    const records = f.audit.records.filter((a) => a.action.startsWith('erasure.'));
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const a of records) expect(JSON.stringify(a)).not.toMatch(PLAINTEXT);
    expect(records.every((a) => a.details?.subject_pseudonym === index)).toBe(true);

    // The receipt itself names no subject value.
    expect(JSON.stringify(r)).not.toMatch(PLAINTEXT);
  });

  it('"recorded before any change": an erasure that fails part-way (at the key) already has its ledger entry', async () => {
    await seedInvestigation(f, JOHN, {});
    const index = await f.dp.blindIndex(JOHN);
    const crypto = subjectCryptoFrom(f.dp);
    const failing = buildCompliance({ db: f.db, crypto: { ...crypto, destroyKey: () => Promise.reject(new Error('KMS unavailable')) }, audit: f.audit, publisher: f.publisher, clock: f.clock, logger: quiet, vault: f.vault });
    const { doc } = await failing.erasure.request(JOHN, compliance);
    await expect(failing.erasure.execute(doc.id)).rejects.toThrow('KMS unavailable');
    expect(await f.vault.ledger.get(index)).toMatchObject({ erasure_id: doc.id, completed_at: null });
    // A retry completes it.
    expect((await f.compliance.erasure.execute(doc.id)).status).toBe('completed');
  });

  it('the dates are those of the infrastructure: backup lifecycle and Firestore history windows', async () => {
    const done = await eraseAfterBackup();
    const completed = Date.parse(done.completed_at!);
    const storage = fs.readFileSync(path.join(TERRAFORM, 'storage.tf'), 'utf8');
    const lifecycle = /resource "google_storage_bucket" "backups"[\s\S]*?lifecycle_rule\s*{\s*condition\s*{\s*age\s*=\s*(\d+)/.exec(storage);
    expect(Number(lifecycle?.[1])).toBe(DEFAULT_BACKUP_RETENTION_DAYS);
    expect(Date.parse(done.receipt!.backups.last_backup_with_ciphertext_expires_at)).toBe(completed + DEFAULT_BACKUP_RETENTION_DAYS * 86_400_000);
    // Firestore PITR keeps 7 days; the daily managed backups at most 7 (variables.tf validation).
    const variables = fs.readFileSync(path.join(TERRAFORM, 'variables.tf'), 'utf8');
    expect(variables).toMatch(/firestore_backup_retention_days <= 7/);
    expect(FIRESTORE_HISTORY_DAYS).toBe(7);
    expect(Date.parse(done.receipt!.backups.pitr_window_ends_at!)).toBe(completed + 7 * 86_400_000);
    expect(done.receipt!.backups.note).toContain('for 7 days');
  });

  it('"warehouse result cache: in-memory per instance; entries expire with their TTL"', () => {
    const cache = new ResultCache(DEFAULT_GUARD_SETTINGS.cacheEntries, DEFAULT_GUARD_SETTINGS.cacheTtlMs, DEFAULT_GUARD_SETTINGS.cacheMaxRows);
    cache.set('q', { rows: [{ email: 'john.doe@example.com' }], truncated: false, storedAt: 0 });
    expect(cache.get('q', DEFAULT_GUARD_SETTINGS.cacheTtlMs)).toBeDefined();
    expect(cache.get('q', DEFAULT_GUARD_SETTINGS.cacheTtlMs + 1)).toBeUndefined();
  });
});
