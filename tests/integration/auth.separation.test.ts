import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { RoleBindings } from '../../shared/auth/bindings.js';
import { SeparationOfDutiesError } from '../../shared/auth/errors.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/** Role changes through the use case (`RoleBindings.change`) on the real client and embedded emulator. */
describe('role changes: no self-grant of admin or compliance', () => {
  let server: LocalFirestoreServer;
  let db: Firestore;
  let dir: string;
  let bindings: RoleBindings;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-separation-'));
    server = new LocalFirestoreServer({ dataDir: dir, logger: new Logger({}, () => {}) });
    const { host, port } = await server.start(0);
    db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
    bindings = new RoleBindings(db, { clock: new ManualClock(new Date('2026-03-01T09:00:00Z')) });
  });
  afterAll(async () => {
    await db.terminate();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an admin adding compliance to its own binding and leaves the binding as it was', async () => {
    await bindings.put({ email: 'a1@example.com', roles: ['admin'], team: null }, 'setup');
    const err = await bindings.change({ email: 'A1@example.com', roles: ['admin', 'compliance'], team: null }, 'a1@example.com').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeparationOfDutiesError);
    expect(err).toMatchObject({ type: 'separation-of-duties', status: 403, rule: 'self-grant', extras: { roles: ['compliance'] } });
    expect((await bindings.get('a1@example.com'))?.roles).toEqual(['admin']);
  });

  it('refuses a non-admin principal granting itself admin', async () => {
    await bindings.put({ email: 'l1@example.com', roles: ['lead'], team: null }, 'setup');
    await expect(bindings.change({ email: 'l1@example.com', roles: ['lead', 'admin'], team: null }, 'l1@example.com')).rejects.toMatchObject({ rule: 'self-grant' });
  });

  it('lets another admin grant it, and the holder keep it on later changes of its own team', async () => {
    await bindings.put({ email: 'a2@example.com', roles: ['admin'], team: null }, 'setup');
    const granted = await bindings.change({ email: 'a2@example.com', roles: ['admin', 'compliance'], team: null }, 'a1@example.com');
    expect(granted.before?.roles).toEqual(['admin']);
    expect(granted.after).toMatchObject({ roles: ['admin', 'compliance'], updated_by: 'a1@example.com' });
    const own = await bindings.change({ email: 'a2@example.com', roles: ['admin', 'compliance'], team: 'legal' }, 'a2@example.com');
    expect(own.after.team).toBe('legal');
  });

  it('checks and writes in one transaction: a self-change racing a revocation never leaves the self-granted role', async () => {
    for (let round = 0; round < 5; round++) {
      await bindings.put({ email: 'a3@example.com', roles: ['admin', 'compliance'], team: null }, 'setup');
      // a3 re-asserts compliance while a1 revokes it. Serialised, either a3 goes first (allowed: it
      // had the role) and the revocation wins, or the revocation goes first and a3's is a self-grant.
      const results = await Promise.allSettled([
        bindings.change({ email: 'a3@example.com', roles: ['admin', 'compliance'], team: null }, 'a3@example.com'),
        bindings.change({ email: 'a3@example.com', roles: ['admin'], team: null }, 'a1@example.com'),
      ]);
      expect(results[1].status).toBe('fulfilled');
      const final = await bindings.get('a3@example.com');
      if (results[0].status === 'rejected') expect(results[0].reason).toBeInstanceOf(SeparationOfDutiesError);
      expect(final?.roles).toEqual(['admin']);
    }
  });
});
