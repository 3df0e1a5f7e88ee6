import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { Logger } from '../../shared/platform/logger.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/** ListCollectionIds, ListDocuments (show missing) and BatchWrite (BulkWriter), through the real client. */
describe('local Firestore: listing and BulkWriter', () => {
  let server: LocalFirestoreServer;
  let db: Firestore;
  let other: Firestore;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-listing-'));
    server = new LocalFirestoreServer({ dataDir: dir, logger: new Logger({}, () => {}) });
    const { host, port } = await server.start(0);
    db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
    other = createFirestore({ projectId: 'test', databaseId: 'restore-1', emulatorHost: `${host}:${port}` });
    await db.doc('a/1').set({ x: 1 });
    await db.doc('a/1/sub/s1').set({ y: 1 });
    await db.doc('a/1/sub/s1/deep/d1').set({ z: 1 });
    await db.doc('b/ghost/kids/k1').set({ k: 1 }); // b/ghost itself does not exist
    await db.doc('c/2').set({});
  });

  afterAll(async () => {
    await db.terminate();
    await other.terminate();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists root collections and subcollections, including under a missing document', async () => {
    expect((await db.listCollections()).map((c) => c.id)).toEqual(['a', 'b', 'c']);
    expect((await db.doc('a/1').listCollections()).map((c) => c.id)).toEqual(['sub']);
    expect((await db.doc('a/1/sub/s1').listCollections()).map((c) => c.id)).toEqual(['deep']);
    expect(await db.doc('c/2').listCollections()).toEqual([]);
    expect((await db.doc('b/ghost').listCollections()).map((c) => c.id)).toEqual(['kids']);
  });

  it('lists documents, including missing ones that have subcollections', async () => {
    expect((await db.collection('a').listDocuments()).map((d) => d.path)).toEqual(['a/1']);
    const ghosts = await db.collection('b').listDocuments();
    expect(ghosts.map((d) => d.path)).toEqual(['b/ghost']);
    expect((await ghosts[0]!.get()).exists).toBe(false);
  });

  it('keeps databases apart', async () => {
    expect(await other.listCollections()).toEqual([]);
  });

  it('writes through BulkWriter, each write on its own', async () => {
    await other.doc('bulk/existing').set({ i: -1 });
    const writer = other.bulkWriter();
    const failures: string[] = [];
    writer.onWriteError((e) => {
      failures.push(e.documentRef.path);
      return false;
    });
    for (let i = 0; i < 30; i++) void writer.set(other.doc(`bulk/d${String(i).padStart(2, '0')}`), { i });
    void writer.create(other.doc('bulk/existing'), { i: 99 }).catch(() => undefined); // already exists → fails alone
    await writer.close();
    expect(failures).toEqual(['bulk/existing']);
    const snap = await other.collection('bulk').get();
    expect(snap.size).toBe(31);
    expect((await other.doc('bulk/existing').get()).get('i')).toBe(-1);
    expect((await other.doc('bulk/d29').get()).get('i')).toBe(29);
    expect((await db.collection('bulk').get()).size).toBe(0);
  });
});
