import type { Firestore, QueryDocumentSnapshot } from '@google-cloud/firestore';

/**
 * Pages through investigations (optionally one equality filter), 500 at a time in id order, so
 * a scan of any size holds one page in memory. Single-field indexes only.
 */
export async function scanInvestigations(
  db: Firestore,
  where: Record<string, string> | undefined,
  visit: (docs: QueryDocumentSnapshot[]) => Promise<void>,
  pageSize = 500,
): Promise<number> {
  if (where && 'id' in where) {
    const snap = await db.collection('investigations').doc(where.id!).get();
    if (snap.exists) await visit([snap as QueryDocumentSnapshot]);
    return snap.exists ? 1 : 0;
  }
  let seen = 0;
  let after: QueryDocumentSnapshot | null = null;
  for (;;) {
    let q = db.collection('investigations').limit(pageSize);
    if (where) for (const [field, value] of Object.entries(where)) q = q.where(field, '==', value);
    else q = q.orderBy('id');
    if (after) q = q.startAfter(after);
    const page = await q.get();
    if (page.empty) return seen;
    seen += page.size;
    await visit(page.docs);
    if (page.size < pageSize) return seen;
    after = page.docs[page.docs.length - 1]!;
  }
}

/** The investigation a stored event (outbox entry, webhook delivery payload) is about, if any. */
export function eventInvestigation(payload: unknown): string | null {
  try {
    const e = (typeof payload === 'string' ? JSON.parse(payload) : payload) as { data?: { investigation_id?: unknown } };
    return typeof e?.data?.investigation_id === 'string' ? e.data.investigation_id : null;
  } catch {
    return null;
  }
}
