import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { createDataProtection } from '../../shared/crypto/index.js';
import { FieldBindingError, SubjectErasedError } from '../../shared/crypto/errors.js';
import type { DataProtection } from '../../shared/crypto/service.js';
import * as life from '../../shared/investigations/lifecycle.js';
import { InvestigationPii } from '../../shared/investigations/pii.js';
import { presentInvestigation } from '../../shared/investigations/present.js';
import { InvestigationStore } from '../../shared/investigations/store.js';
import { ManualClock } from '../../shared/platform/clock.js';
import type { Caller } from '../../shared/platform/http.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalSecretStore } from '../../shared/secrets/local.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/** Personal data in investigation documents is stored only encrypted (docs/decisions/0011). */
describe('investigation store encryption (embedded Firestore, local KEK)', () => {
  let server: LocalFirestoreServer;
  let db: Firestore;
  let dp: DataProtection;
  let store: InvestigationStore;
  const clock = new ManualClock(new Date('2026-03-01T09:00:00Z'));
  const caller = (pii: boolean): Caller => ({ email: 'x@example.com', roles: [], team: null, via: 'id_token', can: (p) => pii && p === 'investigations.read_pii' });

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-inv-crypto-'));
    server = new LocalFirestoreServer({ dataDir: path.join(dir, 'firestore'), logger: new Logger({}, () => {}) });
    const { host, port } = await server.start(0);
    db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
    dp = createDataProtection({
      config: { adapters: { secrets: 'local' } as never, dataDir: dir },
      firestore: db,
      secrets: new LocalSecretStore(path.join(dir, 'secrets')),
      clock,
    });
    store = new InvestigationStore(db, new InvestigationPii(dp));
  });
  afterAll(async () => {
    await db.terminate();
    await server.stop();
  });

  async function created(value = 'Ban.Evader@example.com', question = 'is ban.evader@example.com evading?') {
    const { doc, events } = life.newInvestigation({ subject: { type: 'email', value }, question, window_days: 30, sensitivity: 'standard' }, { email: 'analyst@example.com', team: 'trust' }, clock.now());
    await store.create(doc, events, () => ({ status: 202, body: {} }));
    return doc.id;
  }

  it('stores comment bodies only as ciphertext under the subject’s key, bound to the comment; erased with the subject', async () => {
    const id = await created('comment.subject@example.com', 'q');
    const comment = { id: 'cmt_01x', author: 'analyst@example.com', body: 'phoned comment.subject@example.com, card 4111', created_at: clock.now().toISOString() };
    await store.addComment(id, comment, (d) => ({ doc: { ...d, comments_count: d.comments_count + 1 }, events: [] }));
    const raw = (await db.collection('investigations').doc(id).collection('comments').doc('cmt_01x').get()).data()!;
    expect(raw).toEqual({ id: 'cmt_01x', author: 'analyst@example.com', body_sealed: expect.stringMatching(/^v1\./), created_at: comment.created_at });
    expect(JSON.stringify(raw)).not.toMatch(/comment\.subject|phoned|4111/);
    const index = await dp.blindIndex({ type: 'email', value: 'comment.subject@example.com' });
    expect(raw.body_sealed.split('.')[1]).toBe(index); // the subject's key, so erasing the subject erases it
    await expect(store.listComments(id)).resolves.toEqual([comment]);
    // Copied to another comment, it does not open.
    await expect(dp.decryptField({ envelope: raw.body_sealed, docPath: `investigations/${id}/comments/cmt_02y`, field: 'body' })).rejects.toBeInstanceOf(FieldBindingError);
    await dp.destroySubjectKey({ keyId: index });
    await expect(store.listComments(id)).resolves.toEqual([{ ...comment, body: '[erased]' }]);
  });

  it('stores the subject and question only as ciphertext, with a blind index and a masked display form', async () => {
    const id = await created();
    const raw = (await db.collection('investigations').doc(id).get()).data()!;
    expect(JSON.stringify(raw).toLowerCase()).not.toContain('ban.evader');
    expect(raw.subject).toEqual({ type: 'email', index: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), display: 'B***@example.com', sealed: expect.stringMatching(/^v1\./) });
    expect(raw.question).toBeNull();
    expect(raw.question_sealed).toMatch(/^v1\./);
  });

  it('reveals for a reader of personal data and the worker; masks for others', async () => {
    const id = await created();
    const doc = (await store.get(id))!;
    expect(presentInvestigation(doc, caller(true)).subject).toEqual({ type: 'email', value: 'B***@example.com', masked: true });
    const revealed = await store.reveal(doc, { subject: true, question: true });
    expect(presentInvestigation(revealed, caller(true))).toMatchObject({ subject: { type: 'email', value: 'Ban.Evader@example.com', masked: false }, question: 'is ban.evader@example.com evading?' });
    const forOthers = await store.reveal(doc, { subject: false, question: true });
    const masked = presentInvestigation(forOthers, caller(false));
    expect(masked.subject).toEqual({ type: 'email', value: 'B***@example.com', masked: true });
    expect(masked.question).not.toContain('ban.evader@example.com');
    await expect(store.forRun(doc)).resolves.toEqual({ subject: { type: 'email', value: 'Ban.Evader@example.com' }, question: 'is ban.evader@example.com evading?' });
  });

  it('keeps the ciphertext through later changes and finds investigations by subject', async () => {
    const id = await created('ring.member@example.com', 'q');
    const before = (await store.get(id))!;
    await store.mutate(id, (doc) => life.assign(doc, 'lead@example.com', 'analyst2@example.com', clock.now()));
    const after = (await store.get(id))!;
    expect(after.subject).toEqual(before.subject);
    expect(after.question_sealed).toBe(before.question_sealed);
    const found = await store.findBySubject({ type: 'email', value: ' RING.member@example.com ' });
    expect(found.map((d) => d.id)).toContain(id);
    expect(found.every((d) => d.subject.type === 'email')).toBe(true);
  });

  it('refuses a subject ciphertext copied into another investigation', async () => {
    const a = (await store.get(await created('a.person@example.com')))!;
    const b = (await store.get(await created('b.person@example.com')))!;
    await db.collection('investigations').doc(b.id).update({ subject: a.subject });
    const moved = (await store.get(b.id))!;
    await expect(store.reveal(moved, { subject: true, question: false })).rejects.toBeInstanceOf(FieldBindingError);
  });

  it('shows an erased subject as "[erased]" and fails the run, once its key is destroyed', async () => {
    const id = await created('erase.me@example.com', 'about erase.me@example.com');
    await dp.destroySubjectKey({ type: 'email', value: 'erase.me@example.com' });
    const doc = (await store.get(id))!;
    const revealed = await store.reveal(doc, { subject: true, question: true });
    expect(presentInvestigation(revealed, caller(true))).toMatchObject({ subject: { value: '[erased]', erased: true }, question: '[erased]' });
    await expect(store.forRun(doc)).rejects.toBeInstanceOf(SubjectErasedError);
  });

  it('seals a document written before encryption on its next change', async () => {
    const { doc } = life.newInvestigation({ subject: { type: 'ip', value: '203.0.113.77' }, window_days: 30, sensitivity: 'standard' }, { email: 'analyst@example.com', team: null }, clock.now());
    await db.collection('investigations').doc(doc.id).set(doc);
    expect((await store.get(doc.id))!.subject).toEqual({ type: 'ip', value: '203.0.113.77' });
    await store.mutate(doc.id, (d) => life.cancel(d, 'analyst@example.com', clock.now()));
    const raw = (await db.collection('investigations').doc(doc.id).get()).data()!;
    expect(JSON.stringify(raw)).not.toContain('203.0.113.77');
    expect(raw.subject.display).toBe('203.0.*.*');
  });

  it('refuses to write personal data in clear without data protection', async () => {
    const plain = new InvestigationStore(db);
    const { doc, events } = life.newInvestigation({ subject: { type: 'email', value: 'x@example.com' }, window_days: 30, sensitivity: 'standard' }, { email: 'a@example.com', team: null }, clock.now());
    await expect(plain.create(doc, events, () => ({ status: 202, body: {} }))).rejects.toThrow(/refusing to store personal data in clear/);
  });
});
