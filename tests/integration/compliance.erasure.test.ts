import { LegalHoldError } from '../../shared/compliance/errors.js';
import path from 'node:path';
import { createBackup } from '../../shared/backup/export.js';
import { backupFirestore } from '../../shared/backup/firestore.js';
import { restoreBackup } from '../../shared/backup/restore.js';
import { LocalFolderBackupStore } from '../../shared/backup/store.js';
import { createFirestore } from '../../shared/store/firestore.js';
import { createErasureLedgerReplay, replayErasureLedger } from '../../shared/compliance/erasure/ledger.js';
import { subjectCryptoFrom } from '../../shared/compliance/subject-crypto.js';
import { compliance, compliance2, dumpAll, quiet, seedInvestigation, startFixture, type Fixture } from './compliance-fixture.js';

const JOHN = { type: 'email' as const, value: 'john.doe@example.com' };
const BOB = { type: 'email' as const, value: 'bob@example.org' };
const PLAINTEXT = /john\.doe@example\.com|j\*\*\*@example\.com/i;

async function seedWorld(f: Fixture) {
  const about = await seedInvestigation(
    f,
    JOHN,
    {
      status: 'closed',
      question: 'Is john.doe@example.com sharing a card?',
      summary: 'Account of john.doe@example.com shares a card with u_123.',
      resolved_accounts: ['u_123'],
      decision: { outcome: 'warned', rationale: 'john.doe@example.com admitted it', closed_by: 'lead@example.com', closed_at: f.clock.now().toISOString() },
    },
    { comments: ['called john.doe@example.com today'], idempotencyBody: { id: 'x', subject: { value: 'john.doe@example.com' } } },
  );
  const other = await seedInvestigation(
    f,
    BOB,
    { summary: 'Bob shares a device with john.doe@example.com and with u_999.', resolved_accounts: ['u_999'] },
    { comments: ['Linked: JOHN.DOE@example.com (same device).', 'nothing personal here'] },
  );
  const payload = JSON.stringify({ type: 'tsi.investigation.closed.v1', data: { investigation_id: about.id, status: 'closed' } });
  await f.db.collection('webhook_deliveries').doc('dlv_1').set({ id: 'dlv_1', subscription_id: 'sub_1', event_id: 'evt_1', payload, status: 'succeeded', created_at: f.clock.now().toISOString() });
  await f.db.collection('webhook_attempts').doc('att_1').set({ id: 'att_1', delivery_id: 'dlv_1', subscription_id: 'sub_1', at: f.clock.now().toISOString() });
  return { about, other };
}

describe('GDPR erasure on Firestore (embedded emulator)', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await startFixture();
  });
  afterEach(async () => {
    await f.stop();
  });

  it('erases the subject everywhere: no plaintext left in any collection, the key destroyed, others keep their content', async () => {
    const { about, other } = await seedWorld(f);
    expect([...(await dumpAll(f.db)).values()].some((v) => PLAINTEXT.test(v))).toBe(true);

    const { doc } = await f.compliance.erasure.request(JOHN, compliance);
    expect(doc.status).toBe('requested');
    expect(new Date(doc.due_at).toISOString()).toBe('2026-04-01T09:00:00.000Z');
    const done = await f.compliance.erasure.execute(doc.id);
    expect(done.status).toBe('completed');

    const dump = await dumpAll(f.db);
    for (const [path, text] of dump) expect({ path, plaintext: PLAINTEXT.test(text) }).toEqual({ path, plaintext: false });

    // The investigation about John is anonymised; its sealed subject can no longer be opened.
    const erased = (await f.db.collection('investigations').doc(about.id).get()).data()!;
    expect(erased.summary).toBeNull();
    expect(erased.decision.outcome).toBe('warned');
    const read = await f.store.get(about.id);
    const revealed = await f.store.reveal(read!, { subject: true, question: true });
    expect(revealed.subject).toEqual({ type: 'email', value: '[erased]', erased: true });
    expect((await f.db.collection('investigations').doc(about.id).collection('comments').get()).size).toBe(0);
    expect((await f.db.collection('webhook_deliveries').doc('dlv_1').get()).exists).toBe(false);
    expect((await f.db.collection('webhook_attempts').doc('att_1').get()).exists).toBe(false);

    // Bob's investigation keeps everything that is not John.
    const bob = (await f.store.get(other.id))!;
    expect(bob.summary).toBe('Bob shares a device with [erased] and with u_999.');
    expect((await f.store.reveal(bob, { subject: true, question: false })).subject).toEqual({ type: 'email', value: 'bob@example.org' });
    const comments = await f.store.listComments(other.id);
    expect(comments.map((c) => c.body)).toEqual(['Linked: [erased] (same device).', 'nothing personal here']);

    // The receipt: pseudonym (never the value), stores with counts, hold check, key, backups.
    const r = done.receipt!;
    expect(r.subject_pseudonym).toBe(await f.dp.blindIndex(JOHN));
    expect(JSON.stringify(r)).not.toMatch(PLAINTEXT);
    const byStore = Object.fromEntries(r.stores.map((s) => [s.store, s]));
    expect(byStore.investigations!.erased).toBe(2);
    expect(byStore.comments).toMatchObject({ deleted: 1, erased: 1 });
    expect(byStore.idempotency_keys!.deleted).toBe(1);
    expect(byStore.webhook_deliveries!.deleted).toBe(1);
    expect(byStore.webhook_attempts!.deleted).toBe(1);
    expect(r.hold_check.outcome).toBe('clear');
    expect(r.key.had_key).toBe(true);
    expect(r.backups.last_backup_with_ciphertext_expires_at).toBe('2026-05-30T09:00:00.000Z');
    expect((await f.dp.subjectKeyStatus({ keyId: r.subject_pseudonym }))?.state).toBe('destroyed');

    // Recipients learn through erasure.completed, which asks the warehouse owners to act.
    const event = f.publisher.events.find((e) => e.type === 'tsi.erasure.completed.v1')!;
    expect(event.data).toMatchObject({ erasure_id: doc.id, subject_type: 'email', warehouse_request: { subject_pseudonym: r.subject_pseudonym, owner_action_required: true } });

    // Idempotent: running again changes nothing.
    const again = await f.compliance.erasure.execute(doc.id);
    expect(again.completed_at).toBe(done.completed_at);
  });

  it('a subject under legal hold is not erased: the request waits blocked, naming the hold, and nothing changes', async () => {
    await seedWorld(f);
    const hold = await f.compliance.holds.place({ subject: JOHN, reason: 'litigation', matter: 'M-42' }, compliance);
    const before = await dumpAll(f.db);

    const { doc } = await f.compliance.erasure.request(JOHN, compliance);
    expect(doc.status).toBe('blocked');
    expect(doc.blocked_by).toEqual([{ id: hold.id, matter: 'M-42' }]);
    const again = await f.compliance.erasure.execute(doc.id);
    expect(again.status).toBe('blocked');

    const after = await dumpAll(f.db);
    for (const [path, text] of before) if (!path.startsWith('erasure_requests/')) expect(after.get(path)).toBe(text);
    expect((await f.dp.subjectKeyStatus(JOHN))?.state).toBe('active');
    expect(f.audit.records.some((a) => a.action === 'legal_hold.blocked_deletion' && a.details?.path === 'erasure.execute')).toBe(true);

    // Release (audited with before and after), then the erasure goes through.
    await f.compliance.holds.release(hold.id, 'matter settled', compliance2);
    const rel = f.audit.records.find((a) => a.action === 'legal_holds.release')!;
    expect((rel.details!.before as { state: string }).state).toBe('active');
    expect((rel.details!.after as { state: string }).state).toBe('released');
    expect((await f.compliance.erasure.execute(doc.id)).status).toBe('completed');
    // The released hold loses its masked form of the subject too.
    expect(JSON.stringify((await f.db.collection('legal_holds').doc(hold.id).get()).data())).not.toMatch(PLAINTEXT);
  });

  it('a hold on one investigation about the subject blocks the erasure, and deleting it through the gate is 409', async () => {
    const { about } = await seedWorld(f);
    const hold = await f.compliance.holds.place({ investigation_id: about.id, reason: 'evidence', matter: 'M-7' }, compliance);
    const { doc } = await f.compliance.erasure.request(JOHN, compliance);
    const ran = await f.compliance.erasure.execute(doc.id);
    expect(ran.status).toBe('blocked');
    expect(ran.blocked_by[0]!.id).toBe(hold.id);

    const err = await f.compliance.purge.purge(about.id, compliance, 'cleanup').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LegalHoldError);
    expect((err as LegalHoldError).status).toBe(409);
    expect((err as LegalHoldError).extras).toMatchObject({ legal_hold_id: hold.id, matter: 'M-7' });
    expect((await f.db.collection('investigations').doc(about.id).get()).exists).toBe(true);
  });

  it('after a restore from a backup taken before the erasure, replaying the ledger leaves the subject erased', async () => {
    await seedWorld(f);
    // "Backup": every document as it was before the erasure, wrapped data key included.
    const backup: [string, FirebaseFirestore.DocumentData][] = [];
    for (const c of ['investigations', 'outbox', 'idempotency_keys', 'webhook_deliveries', 'webhook_attempts', 'subject_keys']) for (const d of (await f.db.collection(c).get()).docs) backup.push([d.ref.path, d.data()]);
    for (const d of (await f.db.collectionGroup('comments').get()).docs) backup.push([d.ref.path, d.data()]);

    const { doc } = await f.compliance.erasure.request(JOHN, compliance);
    await f.compliance.erasure.execute(doc.id);

    // "Restore": the backup's documents written back over the live data (the ledger survives, as
    // restore keeps the current ledger).
    for (const [path, data] of backup) await f.db.doc(path).set(data);
    expect([...(await dumpAll(f.db)).values()].some((v) => PLAINTEXT.test(v))).toBe(true);

    // The ledger lives outside the database (the vault), as restore hands it over.
    const { replayed } = await replayErasureLedger(f.db, { crypto: subjectCryptoFrom(f.dp), entries: await f.vault.ledger.list() });
    expect(replayed).toBe(1);
    for (const [path, text] of await dumpAll(f.db)) expect({ path, plaintext: PLAINTEXT.test(text) }).toEqual({ path, plaintext: false });
    const key = (await f.db.collection('subject_keys').doc(await f.dp.blindIndex(JOHN)).get()).data()!;
    expect(key.state).toBe('destroyed');
    expect(key.wrapped_dek).toBeNull();
  });

  it('a real backup taken before the erasure, restored into a new database, serves no erased data', async () => {
    await seedWorld(f);
    const source = backupFirestore({ projectId: 'test', emulatorHost: f.host });
    const target = backupFirestore({ projectId: 'test', databaseId: 'restored-1', emulatorHost: f.host });
    const reader = createFirestore({ projectId: 'test', databaseId: 'restored-1', emulatorHost: f.host });
    try {
      const store = new LocalFolderBackupStore(path.join(f.dir, 'backups'));
      const manifest = await createBackup({ db: source, store, source: { project: 'test', database: '(default)' }, clock: f.clock, logger: quiet, escrow: f.vault.escrow, ledger: f.vault.ledger });
      const { doc } = await f.compliance.erasure.request(JOHN, compliance);
      await f.compliance.erasure.execute(doc.id);

      const result = await restoreBackup({ store, backupId: manifest.backup_id, db: target, logger: quiet, escrow: f.vault.escrow, ledger: f.vault.ledger, replayErasureLedger: createErasureLedgerReplay(() => subjectCryptoFrom(f.dp)) });
      expect(result.erasuresReplayed).toBe(1);
      const dump = await dumpAll(reader);
      expect(dump.size).toBeGreaterThan(5);
      for (const [p, text] of dump) expect({ path: p, plaintext: PLAINTEXT.test(text) }).toEqual({ path: p, plaintext: false });
      expect((await target.collection('subject_keys').doc(await f.dp.blindIndex(JOHN)).get()).get('state')).toBe('destroyed');
      // The ledger is not in any database: it is in the vault, and a copy in each later backup.
      expect((await target.collection('erasure_ledger').get()).size).toBe(0);
      expect((await f.vault.ledger.list()).map((e) => e.subject_index)).toEqual([await f.dp.blindIndex(JOHN)]);
    } finally {
      await source.terminate();
      await target.terminate();
      await reader.terminate();
    }
  });
});
