import type { DocumentReference, DocumentSnapshot, Firestore } from '@google-cloud/firestore';

/**
 * Every document of a database, found the way Firestore allows: `listCollections` from the root,
 * `listDocuments` per collection (which also names documents that do not exist but have
 * subcollections), the documents read in chunks, then the same below each document. Depth-first,
 * in name order, so two walks of the same data visit it in the same order.
 *
 * Cost in production: one ListCollectionIds call per document. Fine for this platform's size;
 * Firestore's managed export remains the bulk path (docs/decisions/0009-backup-and-flags.md).
 */
export type Visit = (collectionIds: readonly string[], snap: DocumentSnapshot) => Promise<void>;

const READ_CHUNK = 300;

export async function walkDatabase(db: Firestore, visit: Visit): Promise<void> {
  for (const col of await db.listCollections()) await walkCollection(db, col.id, [col.id], (c) => db.collection(c), visit);
}

async function walkCollection(
  db: Firestore,
  id: string,
  ids: readonly string[],
  collection: (id: string) => FirebaseFirestoreCollection,
  visit: Visit,
): Promise<void> {
  const refs = await collection(id).listDocuments();
  for (let i = 0; i < refs.length; i += READ_CHUNK) {
    const chunk = refs.slice(i, i + READ_CHUNK);
    const snaps = await db.getAll(...chunk);
    for (const snap of snaps) if (snap.exists) await visit(ids, snap);
  }
  for (const ref of refs) await walkBelow(db, ref, ids, visit);
}

async function walkBelow(db: Firestore, ref: DocumentReference, ids: readonly string[], visit: Visit): Promise<void> {
  for (const sub of await ref.listCollections()) await walkCollection(db, sub.id, [...ids, sub.id], (c) => ref.collection(c), visit);
}

type FirebaseFirestoreCollection = ReturnType<Firestore['collection']>;
