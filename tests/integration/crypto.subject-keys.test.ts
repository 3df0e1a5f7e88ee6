import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { BlindIndexer } from '../../shared/crypto/blind-index.js';
import { CiphertextTamperedError, FieldBindingError, SubjectErasedError } from '../../shared/crypto/errors.js';
import { LocalKek } from '../../shared/crypto/kek/local.js';
import { DataProtection } from '../../shared/crypto/service.js';
import { SUBJECT_KEYS_COLLECTION, SubjectKeyring } from '../../shared/crypto/subject-keys.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalSecretStore } from '../../shared/secrets/local.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/** Per-subject data keys in Firestore (embedded emulator), wrapped by the local key file. */
describe('data protection on Firestore with the local KEK', () => {
  let server: LocalFirestoreServer;
  let db: Firestore;
  let dir: string;
  const clock = new ManualClock(new Date('2026-03-01T09:00:00Z'));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-crypto-'));
    server = new LocalFirestoreServer({ dataDir: path.join(dir, 'firestore'), logger: new Logger({}, () => {}) });
    const { host, port } = await server.start(0);
    db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
  });

  afterAll(async () => {
    await db.terminate();
    await server.stop();
  });

  /** A fresh process's view: new KEK handle, new cache; same files and database. */
  function protection(collection = 'subject_keys') {
    const kek = new LocalKek(path.join(dir, 'keys'), () => clock.now());
    const keyring = new SubjectKeyring({ db, kek, clock, collection });
    return { kek, keyring, dp: new DataProtection({ keyring, indexer: new BlindIndexer(new LocalSecretStore(path.join(dir, 'secrets'))) }) };
  }

  const john = { type: 'email', value: 'John@Example.com' };
  const at = (id: string, field = 'subject.value') => ({ docPath: `investigations/${id}`, field });

  it('creates the key file (0600) and the blind-index key on first use, and round-trips a field', async () => {
    const { dp } = protection();
    const env = await dp.encryptField({ subjectRef: john, ...at('inv_1'), plaintext: 'John@Example.com' });
    expect(env).not.toMatch(/john/i);
    await expect(dp.decryptField({ envelope: env, ...at('inv_1') })).resolves.toBe('John@Example.com');
    expect(fs.statSync(path.join(dir, 'keys', 'kek.json')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'keys')).mode & 0o777).toBe(0o700);
    expect(fs.existsSync(path.join(dir, 'secrets', 'tsi-blind-index-key'))).toBe(true);

    // The key document is named by the blind index and holds only the wrapped key.
    const keyId = await dp.blindIndex({ type: 'email', value: ' john@example.com' });
    const stored = (await db.collection(SUBJECT_KEYS_COLLECTION).doc(keyId).get()).data()!;
    expect(stored).toMatchObject({ key_id: keyId, generation: 1, state: 'active', kek_version: 'local:1', destroyed_at: null });
    expect(JSON.stringify(stored)).not.toMatch(/john/i);

    // Another process (new caches, same files) reads it back.
    await expect(protection().dp.decryptField({ envelope: env, ...at('inv_1') })).resolves.toBe('John@Example.com');
  });

  it('fails to decrypt ciphertext moved to another document', async () => {
    const { dp } = protection();
    const env = await dp.encryptField({ subjectRef: john, ...at('inv_1'), plaintext: 'john@example.com' });
    await expect(dp.decryptField({ envelope: env, ...at('inv_2') })).rejects.toBeInstanceOf(FieldBindingError);
    await expect(dp.decryptField({ envelope: env, ...at('inv_1', 'question') })).rejects.toBeInstanceOf(FieldBindingError);
  });

  it('fails to decrypt a subject’s ciphertext swapped under another subject’s key id', async () => {
    const { dp } = protection();
    const mine = await dp.encryptField({ subjectRef: john, ...at('inv_1'), plaintext: 'john@example.com' });
    const otherId = await dp.blindIndex({ type: 'email', value: 'other@example.com' });
    await dp.encryptField({ subjectRef: { keyId: otherId }, ...at('inv_9'), plaintext: 'x' });
    const swapped = mine.split('.');
    swapped[1] = otherId;
    await expect(dp.decryptField({ envelope: swapped.join('.'), ...at('inv_1') })).rejects.toBeInstanceOf(CiphertextTamperedError);
  });

  it('crypto-shreds: once the key is destroyed, every copy of the ciphertext fails with SubjectErasedError', async () => {
    const a = protection();
    const b = protection(); // a second instance that has the key cached
    const subject = { type: 'ip', value: '2001:DB8::7' };
    const env = await a.dp.encryptField({ subjectRef: subject, ...at('inv_3'), plaintext: '2001:db8::7' });
    const copy = `${env}`; // e.g. in a backup
    await expect(b.dp.decryptField({ envelope: copy, ...at('inv_3') })).resolves.toBe('2001:db8::7');

    const result = await a.dp.destroySubjectKey({ type: 'ip', value: '2001:db8:0::7' });
    expect(result).toMatchObject({ generation: 1, hadKey: true, destroyedAt: clock.now().toISOString() });
    const tomb = (await db.collection(SUBJECT_KEYS_COLLECTION).doc(result.keyId).get()).data()!;
    expect(tomb).toMatchObject({ state: 'destroyed', wrapped_dek: null, kek_version: null });

    const error = await a.dp.decryptField({ envelope: copy, ...at('inv_3') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubjectErasedError);
    expect((error as SubjectErasedError).reason).toBe('destroyed');
    await expect(a.dp.reveal({ envelope: copy, ...at('inv_3') })).resolves.toEqual({ ok: false, erased: true });
    // The other instance's cache expires within the TTL; after that it is erased there too.
    clock.advance(61_000);
    await expect(b.dp.decryptField({ envelope: copy, ...at('inv_3') })).rejects.toBeInstanceOf(SubjectErasedError);
    // Destroying again is a no-op.
    await expect(a.dp.destroySubjectKey({ keyId: result.keyId })).resolves.toMatchObject({ hadKey: false, generation: 1 });

    // New data about the same subject gets a new generation; the old one stays erased.
    const fresh = await a.dp.encryptField({ subjectRef: subject, ...at('inv_4'), plaintext: 'new' });
    expect(fresh.split('.')[2]).toBe('2');
    await expect(protection().dp.decryptField({ envelope: fresh, ...at('inv_4') })).resolves.toBe('new');
    await expect(protection().dp.decryptField({ envelope: copy, ...at('inv_3') })).rejects.toBeInstanceOf(SubjectErasedError);
  });

  it('reports a key that does not exist (e.g. data restored without its keys) as erased', async () => {
    const { dp } = protection();
    const env = await dp.encryptField({ subjectRef: { type: 'user_id', value: 'u_orphan' }, ...at('inv_5'), plaintext: 'u_orphan' });
    const other = protection('subject_keys_elsewhere');
    const error = await other.dp.decryptField({ envelope: env, ...at('inv_5') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubjectErasedError);
    expect((error as SubjectErasedError).reason).toBe('missing');
  });

  it('gives concurrent first uses of a subject, from several instances, one key', async () => {
    const subject = { type: 'email', value: 'race@example.com' };
    const envs = await Promise.all(Array.from({ length: 8 }, (_, i) => protection().dp.encryptField({ subjectRef: subject, ...at(`inv_r${i}`), plaintext: `v${i}` })));
    const fresh = protection().dp;
    for (const [i, env] of envs.entries()) await expect(fresh.decryptField({ envelope: env, ...at(`inv_r${i}`) })).resolves.toBe(`v${i}`);
  });

  it('rotates the KEK and re-wraps every data key without touching the data, resumably', async () => {
    const collection = 'subject_keys_rotation';
    const first = protection(collection);
    const envs: string[] = [];
    for (let i = 0; i < 5; i++) envs.push(await first.dp.encryptField({ subjectRef: { type: 'user_id', value: `u_rot_${i}` }, ...at(`inv_k${i}`), plaintext: `secret ${i}` }));
    await first.dp.destroySubjectKey({ type: 'user_id', value: 'u_rot_4' });
    const before = await db.collection(collection).get();
    const kekVersions = new Set(before.docs.map((d) => d.get('kek_version')));

    const v2 = await first.kek.rotate();
    expect(kekVersions.has(v2)).toBe(false);
    const rotated = protection(collection);
    const partial = await rotated.dp.rewrapAll({ batchSize: 2, maxBatches: 1 });
    // Keys are stored by blind index (random per run), so which batch holds the destroyed key varies.
    expect(partial).toMatchObject({ scanned: 2, next: expect.any(String) });
    expect(partial.rewrapped + partial.destroyed).toBe(2);
    const rest = await rotated.dp.rewrapAll({ batchSize: 2, after: partial.next });
    expect(rest).toMatchObject({ scanned: 3, next: null });
    expect(partial.rewrapped + rest.rewrapped).toBe(4);
    expect(partial.destroyed + rest.destroyed).toBe(1);
    const after = await db.collection(collection).get();
    for (const d of after.docs) expect(d.get('kek_version')).toBe(d.get('state') === 'active' ? v2 : null);

    // A second run finds nothing to do; the data decrypts unchanged; erased stays erased.
    await expect(rotated.dp.rewrapAll()).resolves.toMatchObject({ rewrapped: 0, alreadyCurrent: 4, destroyed: 1, next: null });
    const reader = protection(collection).dp;
    for (let i = 0; i < 4; i++) await expect(reader.decryptField({ envelope: envs[i]!, ...at(`inv_k${i}`) })).resolves.toBe(`secret ${i}`);
    await expect(reader.decryptField({ envelope: envs[4]!, ...at('inv_k4') })).rejects.toBeInstanceOf(SubjectErasedError);
  });
});
