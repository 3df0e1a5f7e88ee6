import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FieldValue, GeoPoint, Timestamp, type DocumentReference, type Firestore } from '@google-cloud/firestore';
import { Logger } from '../../shared/platform/logger.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/** The local Firestore through the real client: isolation, preconditions, atomicity, persistence, queries. */
const quietLogger = () => new Logger({}, () => {});
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-store-'));

interface Session {
  server: LocalFirestoreServer;
  clients: Firestore[];
  db: Firestore;
  newClient(): Firestore;
  close(): Promise<void>;
}

/** Every session is closed after its test even when an assertion fails, so jest can exit. */
const openSessions = new Set<Session>();
afterEach(async () => {
  for (const session of openSessions) await session.close();
});

async function open(dataDir: string): Promise<Session> {
  const server = new LocalFirestoreServer({ dataDir, logger: quietLogger() });
  const { host, port } = await server.start(0);
  const clients: Firestore[] = [];
  const newClient = () => {
    const c = createFirestore({ projectId: 'tsi-test', emulatorHost: `${host}:${port}` });
    clients.push(c);
    return c;
  };
  const db = newClient();
  const session: Session = {
    server,
    clients,
    db,
    newClient,
    async close() {
      if (!openSessions.delete(session)) return;
      await Promise.all(clients.map((c) => c.terminate()));
      await server.stop();
    },
  };
  openSessions.add(session);
  return session;
}

describe('local Firestore: transactions', () => {
  let s: Session;
  beforeEach(async () => {
    s = await open(tempDir());
  });

  test('25 concurrent read-then-write increments of one counter end at exactly 25', async () => {
    const counter = s.db.doc('counters/c1');
    await counter.set({ n: 0 });
    // Several clients, as several function instances would be.
    const clients = [s.db, s.newClient(), s.newClient(), s.newClient(), s.newClient()];
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        clients[i % clients.length]!.runTransaction(async (tx) => {
          const snap = await tx.get(clients[i % clients.length]!.doc('counters/c1'));
          tx.update(snap.ref, { n: (snap.get('n') as number) + 1 });
        }),
      ),
    );
    expect((await counter.get()).get('n')).toBe(25);
  });

  test('10 concurrent claims of one document: exactly one succeeds and owns it', async () => {
    const job = s.db.doc('jobs/j1');
    await job.set({ owner: '' });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.db.runTransaction(async (tx) => {
          const snap = await tx.get(job);
          if (snap.get('owner')) return null;
          tx.update(job, { owner: `worker-${i}` });
          return `worker-${i}`;
        }),
      ),
    );
    const winners = results.filter((r): r is string => r !== null);
    expect(winners).toHaveLength(1);
    expect((await job.get()).get('owner')).toBe(winners[0]);
  });
});

describe('local Firestore: preconditions and atomic commits', () => {
  let s: Session;
  beforeEach(async () => {
    s = await open(tempDir());
  });

  test('update with a stale lastUpdateTime is rejected and changes nothing', async () => {
    const ref = s.db.doc('cases/p1');
    await ref.set({ v: 1 });
    const stale = (await ref.get()).updateTime!;
    await ref.update({ v: 2 });

    await expect(ref.update({ v: 3 }, { lastUpdateTime: stale })).rejects.toMatchObject({ code: 9 });
    await expect(ref.delete({ lastUpdateTime: stale })).rejects.toMatchObject({ code: 9 });
    expect((await ref.get()).data()).toEqual({ v: 2 });

    const fresh = (await ref.get()).updateTime!;
    await ref.update({ v: 4 }, { lastUpdateTime: fresh });
    expect((await ref.get()).data()).toEqual({ v: 4 });
  });

  test('a batch whose last write fails leaves nothing applied', async () => {
    const existing = s.db.doc('batch/existing');
    await existing.set({ x: 1 });

    const batch = s.db.batch();
    batch.set(s.db.doc('batch/new1'), { a: 1 });
    batch.update(existing, { x: 2 });
    batch.delete(s.db.doc('batch/new1'));
    batch.set(s.db.doc('batch/new2'), { b: 1 });
    batch.create(existing, { x: 3 });
    await expect(batch.commit()).rejects.toMatchObject({ code: 6 });

    const batch2 = s.db.batch();
    batch2.set(s.db.doc('batch/new3'), { c: 1 });
    batch2.update(s.db.doc('batch/missing'), { y: 1 });
    await expect(batch2.commit()).rejects.toMatchObject({ code: 5 });

    expect((await existing.get()).data()).toEqual({ x: 1 });
    const [n1, n2, n3] = await s.db.getAll(s.db.doc('batch/new1'), s.db.doc('batch/new2'), s.db.doc('batch/new3'));
    expect([n1!.exists, n2!.exists, n3!.exists]).toEqual([false, false, false]);
  });
});

describe('local Firestore: persistence and queries across restarts', () => {
  test('documents, subcollections and every value type survive stop and restart', async () => {
    const dir = tempDir();
    const s1 = await open(dir);
    const caseRef = s1.db.doc('cases/c1');
    const value = {
      str: 'héllo 👋',
      empty: '',
      int: 42,
      negative: -7,
      maxSafe: Number.MAX_SAFE_INTEGER,
      dbl: 3.25,
      nan: NaN,
      inf: -Infinity,
      bool: false,
      nothing: null,
      ts: Timestamp.fromDate(new Date('2026-01-02T03:04:05.678Z')),
      tsNanos: new Timestamp(1_700_000_000, 123_456_789),
      list: [1, 'two', null, { three: 3 }, Timestamp.fromMillis(5)],
      map: { nested: { deep: 'yes', n: 1.5 }, emptyMap: {} },
      bytes: Buffer.from([0, 1, 255]),
      geo: new GeoPoint(52.5, 13.4),
    };
    await caseRef.set({ ...value, ref: s1.db.doc('users/u1') });
    await s1.db.doc('cases/c1/notes/n1').set({ text: 'first', at: Timestamp.fromMillis(1000) });
    await s1.db.doc('cases/c1/notes/n1/replies/r1').set({ text: 'reply' });
    await s1.db.doc('cases/c1/notes/n2').set({ text: 'second' });
    await s1.db.doc('cases/c1/notes/n2').delete();
    const before = await caseRef.get();
    await s1.close();

    const s2 = await open(dir);
    const after = await s2.db.doc('cases/c1').get();
    const { ref, ...rest } = after.data()!;
    expect(rest).toEqual(value);
    expect((ref as DocumentReference).path).toBe('users/u1');
    expect(after.createTime!.isEqual(before.createTime!)).toBe(true);
    expect(after.updateTime!.isEqual(before.updateTime!)).toBe(true);
    expect((await s2.db.doc('cases/c1/notes/n1').get()).data()).toEqual({ text: 'first', at: Timestamp.fromMillis(1000) });
    expect((await s2.db.doc('cases/c1/notes/n1/replies/r1').get()).get('text')).toBe('reply');
    expect((await s2.db.doc('cases/c1/notes/n2').get()).exists).toBe(false);
    expect((await s2.db.collection('cases/c1/notes').get()).docs.map((d) => d.id)).toEqual(['n1']);
    await s2.close();
  });

  test('where + orderBy + limit give the same, correct answer before and after a restart', async () => {
    const dir = tempDir();
    const s1 = await open(dir);
    const col = s1.db.collection('investigations');
    const batch = s1.db.batch();
    for (let i = 0; i < 12; i++) {
      batch.set(col.doc(`inv${String(i).padStart(2, '0')}`), {
        status: i % 3 === 0 ? 'queued' : 'running',
        createdAt: Timestamp.fromMillis(1_000_000 + i * 1000),
        priority: i % 4,
      });
    }
    await batch.commit();
    await col.doc('inv03').update({ priority: FieldValue.increment(10) });

    const run = async (db: Firestore) => {
      const c = db.collection('investigations');
      return {
        newestQueued: (await c.where('status', '==', 'queued').orderBy('createdAt', 'desc').limit(2).get()).docs.map((d) => d.id),
        range: (await c.where('priority', '>=', 2).where('priority', '<', 10).orderBy('priority').orderBy('createdAt').limit(3).get()).docs.map((d) => d.id),
        compound: (await c.where('status', '==', 'running').where('priority', '==', 1).get()).docs.map((d) => d.id),
      };
    };
    const expected = { newestQueued: ['inv09', 'inv06'], range: ['inv02', 'inv06', 'inv10'], compound: ['inv01', 'inv05'] };
    expect(await run(s1.db)).toEqual(expected);
    await s1.close();

    const s2 = await open(dir);
    expect(await run(s2.db)).toEqual(expected);
    expect((await s2.db.doc('investigations/inv03').get()).get('priority')).toBe(13);
    await s2.close();
  });
});
