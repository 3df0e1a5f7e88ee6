import type { Firestore } from '@google-cloud/firestore';
import { encodeFields } from './codec.js';
import { walkDatabase } from './walk.js';

/** Every document of a database in its backup encoding, by path (for drills and tests). */
export async function snapshotDatabase(db: Firestore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await walkDatabase(db, async (_ids, snap) => {
    out.set(snap.ref.path, JSON.stringify(encodeFields(snap.data() ?? {})));
  });
  return out;
}

export interface Difference {
  path: string;
  problem: 'missing in target' | 'extra in target' | 'fields differ';
}

/** Compares two databases document by document, field by field (in the lossless encoding). */
export async function compareDatabases(source: Firestore, target: Firestore): Promise<{ documents: number; differences: Difference[] }> {
  const [a, b] = await Promise.all([snapshotDatabase(source), snapshotDatabase(target)]);
  const differences: Difference[] = [];
  for (const [path, fields] of a) {
    const other = b.get(path);
    if (other === undefined) differences.push({ path, problem: 'missing in target' });
    else if (other !== fields) differences.push({ path, problem: 'fields differ' });
  }
  for (const path of b.keys()) if (!a.has(path)) differences.push({ path, problem: 'extra in target' });
  return { documents: a.size, differences };
}
