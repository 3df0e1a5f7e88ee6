import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { createDataProtection } from '../../shared/crypto/index.js';
import { LocalKek } from '../../shared/crypto/kek/local.js';
import { healthRoutes } from '../../shared/platform/health.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalSecretStore } from '../../shared/secrets/local.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/** Key custody on the embedded emulator: generation only for an empty folder, probes, readiness (issue 17.4). */
describe('key custody', () => {
  let dir: string;
  let server: LocalFirestoreServer;
  let db: Firestore;
  const clock = new ManualClock(new Date('2026-03-01T09:00:00Z'));
  const config = () => ({ adapters: { secrets: 'local' as const, store: 'emulator' as const }, dataDir: dir }) as never;
  /** One process's view: new caches, the same files and database. */
  const protection = () => createDataProtection({ config: config(), firestore: db, secrets: new LocalSecretStore(path.join(dir, 'secrets')), clock });
  const at = { docPath: 'investigations/inv_1', field: 'subject.value' };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-custody-'));
    server = new LocalFirestoreServer({ dataDir: path.join(dir, 'fs'), logger: new Logger({}, () => {}) });
    const { host, port } = await server.start(0);
    db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
  });
  afterEach(async () => {
    await db.terminate();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('generates the keys and their probes on an empty data folder, and readiness passes', async () => {
    const checks = await protection().ensureKeys();
    expect(checks).toEqual([{ name: 'kek', state: 'created' }, { name: 'blind-index', state: 'ok' }, { name: 'webhook-secrets', state: 'unused' }]);
    expect(fs.existsSync(path.join(dir, 'keys', 'kek.json'))).toBe(true);
    expect((await db.collection('key_checks').get()).docs.map((d) => d.id).sort()).toEqual(['blind-index', 'kek']);
    await expect(protection().checkKeys()).resolves.toBeUndefined();
  });

  it('never regenerates a deleted key file once data depends on it, not even lazily on first use', async () => {
    const dp = protection();
    await dp.ensureKeys();
    const env = await dp.encryptField({ subjectRef: { type: 'email', value: 'a@example.com' }, ...at, plaintext: 'a@example.com' });
    fs.rmSync(path.join(dir, 'keys', 'kek.json'));
    const fresh = protection();
    await expect(fresh.decryptField({ envelope: env, ...at })).rejects.toThrow(/key file .*kek\.json is missing, but stored data is encrypted under it: restore it/);
    await expect(fresh.encryptField({ subjectRef: { type: 'email', value: 'b@example.com' }, ...at, plaintext: 'b' })).rejects.toThrow(/is missing/);
    expect(fs.existsSync(path.join(dir, 'keys', 'kek.json'))).toBe(false);
    fs.rmSync(path.join(dir, 'secrets', 'tsi-blind-index-key'));
    await expect(protection().blindIndex({ type: 'email', value: 'a@example.com' })).rejects.toThrow(/"tsi-blind-index-key" is missing, but stored records are indexed with it/);
  });

  it('readiness fails (without naming files) when the key file is not the one the data was encrypted with', async () => {
    await protection().ensureKeys();
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-other-'));
    await new LocalKek(other).wrap(Buffer.alloc(32), Buffer.from('x'));
    fs.copyFileSync(path.join(other, 'kek.json'), path.join(dir, 'keys', 'kek.json'));
    fs.rmSync(other, { recursive: true, force: true });
    const dp = protection();
    await expect(dp.checkKeys()).rejects.toThrow('key material missing, damaged or not the one the data was encrypted with (see the start-up log)');
    const ready = healthRoutes([{ name: 'keys', check: () => dp.checkKeys() }]).find((r) => r.path === '/readyz')!;
    const res = (await ready.handle({} as never)) as { status: number; body: { checks: { name: string; ok: boolean; error?: string }[] } };
    expect(res.status).toBe(503);
    expect(res.body.checks[0]).toMatchObject({ name: 'keys', ok: false });
    expect(JSON.stringify(res.body)).not.toContain(dir);
  });
});
