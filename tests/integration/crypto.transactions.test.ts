import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { BlindIndexer } from '../../shared/crypto/blind-index.js';
import { LocalKek } from '../../shared/crypto/kek/local.js';
import type { KeyEncryptionKey } from '../../shared/crypto/kek/port.js';
import { DataProtection } from '../../shared/crypto/service.js';
import { SubjectKeyring } from '../../shared/crypto/subject-keys.js';
import * as life from '../../shared/investigations/lifecycle.js';
import { InvestigationPii } from '../../shared/investigations/pii.js';
import { InvestigationStore } from '../../shared/investigations/store.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalSecretStore } from '../../shared/secrets/local.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/**
 * Transaction callbacks have no side effect a retry would repeat: no KEK (KMS) call runs while a
 * Firestore transaction callback is executing — key creation, unwrapping, destruction, re-wrap after
 * a KEK rotation, and every sealed write of the investigation store. Observed by counting KEK calls
 * made while any transaction callback of the client is running (operations run one at a time).
 */
describe('no KMS call inside a transaction callback', () => {
  let dir: string;
  let server: LocalFirestoreServer;
  let db: Firestore;
  let inside = 0;
  const calls = { total: 0, insideTx: 0 };
  const clock = new ManualClock(new Date('2026-03-01T09:00:00Z'));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-tx-kms-'));
    server = new LocalFirestoreServer({ dataDir: path.join(dir, 'fs'), logger: new Logger({}, () => {}) });
    const { host, port } = await server.start(0);
    db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
    const run = db.runTransaction.bind(db);
    db.runTransaction = ((fn: (tx: FirebaseFirestore.Transaction) => Promise<unknown>, opts?: FirebaseFirestore.ReadWriteTransactionOptions) =>
      run(async (tx) => {
        inside++;
        try {
          return await fn(tx);
        } finally {
          inside--;
        }
      }, opts)) as Firestore['runTransaction'];
  });
  afterAll(async () => {
    await db.terminate();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function counting(kek: LocalKek): KeyEncryptionKey {
    const note = () => {
      calls.total++;
      if (inside > 0) calls.insideTx++;
    };
    return {
      kind: kek.kind,
      wrap: (dek, aad) => (note(), kek.wrap(dek, aad)),
      unwrap: (key, aad) => (note(), kek.unwrap(key, aad)),
    };
  }

  it('holds for key creation, reads, sealed writes, destruction and re-wrap', async () => {
    const local = new LocalKek(path.join(dir, 'keys'), () => clock.now());
    const fresh = () => {
      const keyring = new SubjectKeyring({ db, kek: counting(local), clock });
      return new DataProtection({ keyring, indexer: new BlindIndexer(new LocalSecretStore(path.join(dir, 'secrets'))) });
    };
    const dp = fresh();
    const store = new InvestigationStore(db, new InvestigationPii(dp), clock);
    const { doc, events } = life.newInvestigation({ subject: { type: 'email', value: 'tx@example.com' }, question: 'q?', window_days: 30, sensitivity: 'standard' }, { email: 'analyst@example.com', team: null }, clock.now());
    await store.create(doc, events, () => ({ status: 202, body: {} }));
    await store.addComment(doc.id, { id: 'cmt_1', author: 'a@example.com', body: 'b', created_at: clock.now().toISOString() }, (d) => ({ doc: { ...d, comments_count: 1 }, events: [] }));
    const reader = new InvestigationStore(db, new InvestigationPii(fresh()), clock);
    await reader.reveal((await reader.get(doc.id))!, { subject: true, question: true });
    await reader.listComments(doc.id);
    await local.rotate();
    await fresh().rewrapAll();
    await dp.destroySubjectKey({ type: 'email', value: 'tx@example.com' });
    await store.create({ ...doc, id: `${doc.id}x`, subject: { type: 'email', value: 'tx@example.com' }, question: 'again' }, [], () => ({ status: 202, body: {} }));
    expect(calls.total).toBe(5); // wrap (create), unwrap (reader), unwrap + wrap (rewrap), wrap (generation 2)
    expect(calls.insideTx).toBe(0);
  });
});
