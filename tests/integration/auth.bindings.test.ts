import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { LOCAL_ROLE_BINDINGS, ROLE_BINDINGS_COLLECTION, RoleBindings } from '../../shared/auth/bindings.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

describe('RoleBindings on Firestore (embedded emulator)', () => {
  let server: LocalFirestoreServer;
  let db: Firestore;
  const clock = new ManualClock(new Date('2026-03-01T09:00:00Z'));
  let bindings: RoleBindings;

  beforeAll(async () => {
    server = new LocalFirestoreServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-bindings-')), logger: new Logger({}, () => {}) });
    const { host, port } = await server.start(0);
    db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
    bindings = new RoleBindings(db, { clock });
  });

  afterAll(async () => {
    await db.terminate();
    await server.stop();
  });

  it('gives unknown principals no binding', async () => {
    await expect(bindings.get('stranger@example.com')).resolves.toBeNull();
    await expect(bindings.get('not/an-id')).resolves.toBeNull();
  });

  it('seeds the local defaults once, keyed by lower-cased email', async () => {
    const first = await bindings.seedLocal(LOCAL_ROLE_BINDINGS);
    expect(first.created).toHaveLength(6);
    await expect(bindings.get('ANALYST2@example.com')).resolves.toEqual({
      email: 'analyst2@example.com',
      roles: ['analyst'],
      team: 'fraud',
      updated_by: 'system:local-seed',
      updated_at: '2026-03-01T09:00:00.000Z',
    });
    const list = await bindings.list();
    expect(list.map((b) => [b.email, b.roles, b.team])).toEqual([
      ['admin@example.com', ['admin'], null],
      ['analyst2@example.com', ['analyst'], 'fraud'],
      ['analyst@example.com', ['analyst'], 'trust'],
      ['compliance@example.com', ['compliance'], null],
      ['lead@example.com', ['lead'], null],
      ['viewer@example.com', ['viewer'], null],
    ]);
    const doc = await db.collection(ROLE_BINDINGS_COLLECTION).doc('analyst@example.com').get();
    expect(doc.exists).toBe(true);
  });

  it('never overwrites a later change when seeding again (a restart)', async () => {
    clock.advance(60_000);
    await bindings.put({ email: 'Lead@Example.com', roles: ['lead', 'compliance'], team: null }, 'admin@example.com');
    await bindings.put({ email: 'viewer@example.com', roles: [], team: null }, 'admin@example.com');
    const again = await new RoleBindings(db, { clock }).seedLocal(LOCAL_ROLE_BINDINGS);
    expect(again.created).toEqual([]);
    await expect(bindings.get('lead@example.com')).resolves.toMatchObject({ roles: ['lead', 'compliance'], updated_by: 'admin@example.com', updated_at: '2026-03-01T09:01:00.000Z' });
    // Revoked stays revoked.
    await expect(bindings.get('viewer@example.com')).resolves.toMatchObject({ roles: [] });
  });

  it('puts a binding with validated, de-duplicated roles and returns what it stored', async () => {
    const stored = await bindings.put({ email: 'Newbie@Example.com', roles: ['analyst', 'analyst'], team: 'trust' }, 'admin@example.com');
    expect(stored).toEqual({ email: 'newbie@example.com', roles: ['analyst'], team: 'trust', updated_by: 'admin@example.com', updated_at: clock.now().toISOString() });
    await expect(bindings.get('newbie@example.com')).resolves.toEqual(stored);
    await expect(bindings.put({ email: 'x@example.com', roles: ['root' as never] }, 'admin@example.com')).rejects.toThrow();
    await expect(bindings.put({ email: 'not-an-email', roles: ['viewer'] }, 'admin@example.com')).rejects.toThrow();
    await expect(bindings.get('x@example.com')).resolves.toBeNull();
  });

  it('refuses to use a stored binding that does not validate (it grants nothing silently)', async () => {
    await db.collection(ROLE_BINDINGS_COLLECTION).doc('tampered@example.com').set({ email: 'tampered@example.com', roles: ['superuser'], team: null, updated_by: 'x', updated_at: 'y' });
    await expect(bindings.get('tampered@example.com')).rejects.toThrow(/role_bindings\/tampered@example.com" is invalid/);
    await db.collection(ROLE_BINDINGS_COLLECTION).doc('tampered@example.com').delete();
  });
});
