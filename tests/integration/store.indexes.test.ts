import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { RoleBindings } from '../../shared/auth/bindings.js';
import { InvestigationStore } from '../../shared/investigations/store.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { PROJECT_INDEX_FILE } from '../../shared/store/emulator/indexes.js';
import { createFirestore } from '../../shared/store/firestore.js';

/**
 * The embedded emulator enforces terraform/firestore.indexes.json the way Firestore enforces its
 * indexes, so every query the app makes is proven to be served by an index Terraform creates.
 */
async function serve(indexes?: string): Promise<{ server: LocalFirestoreServer; db: Firestore }> {
  const server = new LocalFirestoreServer({
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-indexes-')),
    logger: new Logger({}, () => {}),
    ...(indexes ? { indexes } : {}),
  });
  const { host, port } = await server.start(0);
  return { server, db: createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` }) };
}

describe('composite indexes enforced by the embedded Firestore emulator', () => {
  let enforced: { server: LocalFirestoreServer; db: Firestore };

  beforeAll(async () => {
    enforced = await serve(PROJECT_INDEX_FILE);
  });

  afterAll(async () => {
    await enforced.db.terminate();
    await enforced.server.stop();
  });

  it('serves every listing the API offers (each filter combination, with and without a cursor)', async () => {
    const store = new InvestigationStore(enforced.db);
    const filters = [{}, { status: 'queued' }, { created_by: 'a@example.com' }, { assignee: 'b@example.com' }, { status: 'completed', created_by: 'a@example.com' }, { status: 'running', created_by: 'a@example.com', assignee: 'b@example.com' }] as const;
    for (const q of filters) {
      await expect(store.list(q, 10)).resolves.toEqual([]);
      await expect(store.list(q, 10, 'inv_01zzzzzzzzzzzzzzzzzzzzzzzz')).resolves.toEqual([]);
    }
  });

  it('serves the reconciler, comment and role-binding queries', async () => {
    const store = new InvestigationStore(enforced.db);
    await expect(store.findByStatus('running', 'lease_expires', '2030-01-01T00:00:00Z', 10)).resolves.toEqual([]);
    await expect(store.pendingOutbox('2030-01-01T00:00:00Z', 10)).resolves.toEqual([]);
    await expect(store.listComments('inv_01abc')).resolves.toEqual([]);
    await expect(new RoleBindings(enforced.db).list()).resolves.toEqual([]);
  });

  it('refuses a query no listed index serves with FAILED_PRECONDITION, naming the index to add', async () => {
    const query = enforced.db.collection('investigations').where('status', '==', 'queued').orderBy('updated_at', 'desc');
    const error = await query.get().then(
      () => null,
      (e: { code?: number; details?: string; message: string }) => e,
    );
    expect(error?.code).toBe(9);
    expect(error?.message).toContain('The query requires an index');
    expect(error?.message).toContain('"fields":[{"fieldPath":"status","order":"ASCENDING"},{"fieldPath":"updated_at","order":"DESCENDING"}]');
  });

  it('refuses a range on one field ordered by another, and counts are checked too', async () => {
    const col = enforced.db.collection('investigations');
    await expect(col.where('updated_at', '<', '2030').orderBy('id', 'desc').get()).rejects.toMatchObject({ code: 9 });
    await expect(col.where('status', '==', 'queued').where('updated_at', '<', '2030').count().get()).rejects.toMatchObject({ code: 9 });
    // Served by (status, id DESC) only in that direction: ascending would need its own index.
    await expect(col.where('status', '==', 'queued').where('id', '<', 'inv_2').orderBy('id', 'desc').count().get()).resolves.toBeDefined();
    await expect(col.where('status', '==', 'queued').where('id', '<', 'inv_2').orderBy('id', 'asc').get()).rejects.toMatchObject({ code: 9 });
  });

  it('runs the same unindexed query when no index file is given (enforcement, not a query bug)', async () => {
    const open = await serve();
    try {
      const snap = await open.db.collection('investigations').where('status', '==', 'queued').orderBy('updated_at', 'desc').get();
      expect(snap.size).toBe(0);
    } finally {
      await open.db.terminate();
      await open.server.stop();
    }
  });
});
