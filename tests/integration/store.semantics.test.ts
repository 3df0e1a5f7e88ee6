import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AggregateField, FieldPath, FieldValue, Filter, Timestamp, type Firestore, type Query } from '@google-cloud/firestore';
import { ManualClock, type Clock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/**
 * Firestore semantics the app relies on, through the real client: writes (replace, merge,
 * field delete, transforms), update times, queries (filters, ordering, cursors, aggregations),
 * transaction conflicts on documents and on query results, and clear errors for the rest.
 */
let server: LocalFirestoreServer;
let db: Firestore;
let emulatorHost: string;

async function startWith(clock?: Clock): Promise<void> {
  server = new LocalFirestoreServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-store-sem-')), logger: new Logger({}, () => {}), clock });
  const { host, port } = await server.start(0);
  emulatorHost = `${host}:${port}`;
  db = createFirestore({ projectId: 'tsi-test', emulatorHost });
}

async function stop(): Promise<void> {
  await db.terminate();
  await server.stop();
}

const ids = async (q: Query) => (await q.get()).docs.map((d) => d.id);

describe('writes', () => {
  beforeAll(() => startWith());
  afterAll(stop);

  test('set replaces the document, merge and update touch only the given fields', async () => {
    const ref = db.doc('w/replace');
    await ref.set({ a: 1, b: 2, m: { x: 1, y: 2 } });
    await ref.set({ a: 5 });
    expect((await ref.get()).data()).toEqual({ a: 5 });

    await ref.set({ m: { x: 9 } }, { merge: true });
    await ref.update({ 'm.y': 3, c: 'new' });
    expect((await ref.get()).data()).toEqual({ a: 5, m: { x: 9, y: 3 }, c: 'new' });
  });

  test('FieldValue.delete removes top-level and nested fields', async () => {
    const ref = db.doc('w/delete');
    await ref.set({ keep: 1, lease: { owner: 'w1', until: 5 }, gone: true });
    await ref.update({ gone: FieldValue.delete(), 'lease.owner': FieldValue.delete() });
    expect((await ref.get()).data()).toEqual({ keep: 1, lease: { until: 5 } });
    await ref.set({ lease: FieldValue.delete() }, { merge: true });
    expect((await ref.get()).data()).toEqual({ keep: 1 });
  });

  test('transforms: increments, several server timestamps, array union/remove, also on missing and nested fields', async () => {
    const ref = db.doc('w/transforms');
    await ref.set({ n: 1, stats: { hits: 1 }, tags: ['a'] });
    const result = await ref.update({
      n: FieldValue.increment(2),
      'stats.hits': FieldValue.increment(0.5),
      'stats.misses': FieldValue.increment(1),
      createdAt: FieldValue.serverTimestamp(),
      updatedAt: FieldValue.serverTimestamp(),
      tags: FieldValue.arrayUnion('b', 'a'),
      fresh: FieldValue.arrayUnion(1, 1, 2),
    });
    const data = (await ref.get()).data()!;
    expect(data).toMatchObject({ n: 3, stats: { hits: 1.5, misses: 1 }, tags: ['a', 'b'], fresh: [1, 2] });
    expect((data.createdAt as Timestamp).isEqual(result.writeTime)).toBe(true);
    expect((data.updatedAt as Timestamp).isEqual(result.writeTime)).toBe(true);

    await ref.update({ tags: FieldValue.arrayRemove('a'), none: FieldValue.arrayRemove('x') });
    expect((await ref.get()).data()).toMatchObject({ tags: ['b'], none: [] });
  });

  test('create and update report ALREADY_EXISTS and NOT_FOUND', async () => {
    await db.doc('w/exists').set({});
    await expect(db.doc('w/exists').create({})).rejects.toMatchObject({ code: 6 });
    await expect(db.doc('w/absent').update({ a: 1 })).rejects.toMatchObject({ code: 5 });
  });

  test('a write that changes nothing keeps the update time', async () => {
    const ref = db.doc('w/noop');
    await ref.set({ a: 1 });
    const before = (await ref.get()).updateTime!;
    await ref.set({ a: 1 });
    expect((await ref.get()).updateTime!.isEqual(before)).toBe(true);
  });
});

describe('update times with a clock that does not move', () => {
  beforeAll(() => startWith(new ManualClock(new Date('2026-03-01T00:00:00Z'))));
  afterAll(stop);

  test('every commit gets a later update time, so lastUpdateTime tells writes apart', async () => {
    const ref = db.doc('t/one');
    await ref.set({ v: 1 });
    const t1 = (await ref.get()).updateTime!;
    await ref.set({ v: 2 });
    const t2 = (await ref.get()).updateTime!;
    expect(t2.toMillis()).toBeGreaterThan(t1.toMillis());
    await expect(ref.update({ v: 3 }, { lastUpdateTime: t1 })).rejects.toMatchObject({ code: 9 });
    await ref.update({ v: 3 }, { lastUpdateTime: t2 });
    expect((await ref.get()).get('v')).toBe(3);
  });
});

describe('queries', () => {
  beforeAll(async () => {
    await startWith();
    const batch = db.batch();
    const rows: Record<string, Record<string, unknown>> = {
      a: { n: 1, g: 'x', tags: ['red'], opt: null, when: Timestamp.fromMillis(3000) },
      b: { n: 2, g: 'y', tags: ['blue', 'red'], opt: 1, when: Timestamp.fromMillis(1000) },
      c: { n: 2, g: 'x', tags: [], when: Timestamp.fromMillis(2000), nested: { k: 5 } },
      d: { n: 4, g: 'y', opt: 'text', nested: { k: 1 } },
      e: { n: 5.5, g: 'z', opt: null, nested: { k: 3 } },
      f: { g: 'x' },
    };
    for (const [id, data] of Object.entries(rows)) batch.set(db.collection('q').doc(id), data);
    batch.set(db.doc('q/a/sub/s1'), { n: 10 });
    batch.set(db.doc('other/o1/sub/s2'), { n: 20 });
    await batch.commit();
  });
  afterAll(stop);

  test('equality, range, in / not-in, array-contains(-any), !=, OR', async () => {
    const q = db.collection('q');
    expect(await ids(q.where('g', '==', 'x'))).toEqual(['a', 'c', 'f']);
    expect(await ids(q.where('n', '>', 1).where('n', '<=', 4))).toEqual(['b', 'c', 'd']);
    expect(await ids(q.where('g', 'in', ['y', 'z']))).toEqual(['b', 'd', 'e']);
    expect(await ids(q.where('g', 'not-in', ['x', 'y']))).toEqual(['e']);
    expect(await ids(q.where('tags', 'array-contains', 'red'))).toEqual(['a', 'b']);
    expect(await ids(q.where('tags', 'array-contains-any', ['blue', 'green']))).toEqual(['b']);
    expect(await ids(q.where('n', '!=', 2))).toEqual(['a', 'd', 'e']);
    expect(await ids(q.where(Filter.or(Filter.where('n', '==', 1), Filter.where('g', '==', 'z'))))).toEqual(['a', 'e']);
  });

  test('null filters match only null, missing fields match nothing, nested paths work', async () => {
    const q = db.collection('q');
    expect(await ids(q.where('opt', '==', null))).toEqual(['a', 'e']);
    expect(await ids(q.where('opt', '!=', null).orderBy('opt'))).toEqual(['b', 'd']);
    expect(await ids(q.where('nested.k', '>=', 3))).toEqual(['e', 'c']);
    expect(await ids(q.orderBy('nested.k', 'desc'))).toEqual(['c', 'e', 'd']);
  });

  test('orderBy skips documents without the field and breaks ties by id', async () => {
    const q = db.collection('q');
    expect(await ids(q.orderBy('n'))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await ids(q.orderBy('n', 'desc'))).toEqual(['e', 'd', 'c', 'b', 'a']);
    expect(await ids(q.orderBy('when').limit(2))).toEqual(['b', 'c']);
    expect(await ids(q.orderBy('n').limitToLast(2))).toEqual(['d', 'e']);
  });

  test('cursors and offset paginate', async () => {
    const q = db.collection('q').orderBy('n');
    const page1 = await q.limit(2).get();
    expect(page1.docs.map((d) => d.id)).toEqual(['a', 'b']);
    expect(await ids(q.startAfter(page1.docs[1]!).limit(2))).toEqual(['c', 'd']);
    expect(await ids(q.startAt(2))).toEqual(['b', 'c', 'd', 'e']);
    expect(await ids(q.startAfter(2))).toEqual(['d', 'e']);
    expect(await ids(q.endBefore(4))).toEqual(['a', 'b', 'c']);
    expect(await ids(q.endAt(4))).toEqual(['a', 'b', 'c', 'd']);
    expect(await ids(q.offset(3))).toEqual(['d', 'e']);
    expect(await ids(db.collection('q').orderBy(FieldPath.documentId()).startAfter('c'))).toEqual(['d', 'e', 'f']);
  });

  test('select, collection groups and aggregations', async () => {
    const selected = await db.collection('q').where('g', '==', 'y').select('n').get();
    expect(selected.docs.map((d) => d.data())).toEqual([{ n: 2 }, { n: 4 }]);
    expect((await db.collectionGroup('sub').orderBy('n').get()).docs.map((d) => d.ref.path)).toEqual(['q/a/sub/s1', 'other/o1/sub/s2']);
    const agg = await db
      .collection('q')
      .where('g', 'in', ['x', 'y'])
      .aggregate({ count: AggregateField.count(), total: AggregateField.sum('n'), mean: AggregateField.average('n') })
      .get();
    expect(agg.data()).toEqual({ count: 5, total: 9, mean: 2.25 });
    expect((await db.collection('q').limit(3).count().get()).data().count).toBe(3);
  });

  test('unsupported calls fail with a clear error instead of crashing or guessing', async () => {
    await expect(db.listCollections()).rejects.toMatchObject({ code: 12 });
    await expect(db.collection('q').listDocuments()).rejects.toMatchObject({ code: 12 });
    // The server is still serving.
    expect((await db.doc('q/a').get()).exists).toBe(true);
  });
});

describe('transactions', () => {
  beforeAll(() => startWith());
  afterAll(stop);

  test('a document changed between the read and the commit makes the transaction run again', async () => {
    const ref = db.doc('tx/doc');
    await ref.set({ n: 0 });
    const other = createFirestore({ projectId: 'tsi-test', emulatorHost });
    let attempts = 0;
    await db.runTransaction(async (tx) => {
      attempts++;
      const snap = await tx.get(ref);
      if (attempts === 1) await other.doc('tx/doc').update({ n: 100 });
      tx.update(ref, { n: (snap.get('n') as number) + 1 });
    });
    await other.terminate();
    expect(attempts).toBe(2);
    expect((await ref.get()).get('n')).toBe(101);
  });

  test('a query result changed between the read and the commit makes the transaction run again', async () => {
    const queue = db.collection('txq');
    await queue.doc('j1').set({ state: 'queued', at: 1 });
    const other = createFirestore({ projectId: 'tsi-test', emulatorHost });
    let attempts = 0;
    const claimed = await db.runTransaction(async (tx) => {
      attempts++;
      const snap = await tx.get(queue.where('state', '==', 'queued').orderBy('at').limit(1));
      // Another worker takes j1 and a new, older job appears: both change the answer.
      if (attempts === 1) await other.doc('txq/j0').set({ state: 'queued', at: 0 });
      const job = snap.docs[0]!;
      tx.update(job.ref, { state: 'running' });
      return job.id;
    });
    await other.terminate();
    expect(attempts).toBe(2);
    expect(claimed).toBe('j0');
    expect((await queue.doc('j1').get()).get('state')).toBe('queued');
  });

  test('read-only transactions read; onSnapshot listeners see commits', async () => {
    await db.doc('tx/ro').set({ v: 1 });
    const value = await db.runTransaction(async (tx) => (await tx.get(db.doc('tx/ro'))).get('v'), { readOnly: true });
    expect(value).toBe(1);

    const seen = new Promise<unknown>((resolve) => {
      const unsubscribe = db.doc('tx/ro').onSnapshot((snap) => {
        if (snap.get('v') === 2) {
          unsubscribe();
          resolve(snap.data());
        }
      });
    });
    await db.doc('tx/ro').set({ v: 2 });
    expect(await seen).toEqual({ v: 2 });

    // Query listeners use the package's own engine; one it cannot evaluate is refused, not fatal.
    const refused = new Promise<unknown>((resolve) => db.collection('tx').where('a.b', '==', 1).onSnapshot(() => {}, resolve));
    expect(await refused).toMatchObject({ code: 12 });
    expect((await db.doc('tx/ro').get()).get('v')).toBe(2);
  });
});
