import type { StoredDoc } from './values.js';

/**
 * When the embedded Firestore must rewrite its files at once instead of after `compactEvery`
 * commits: after a commit that erases personal data. The write-ahead log holds every earlier
 * version of every document (the plaintext of documents written before encryption, ciphertext
 * and the wrapped data key of an erased subject); real Firestore keeps such history only in
 * point-in-time recovery, for 7 days. Compacting rewrites the snapshot from the current
 * documents and empties the log, so the files keep no version the erasure replaced. Pure.
 *
 * Signals: a subject key document becoming a tombstone (crypto-shredding), and an erasure
 * request reaching `completed` (its last write, after everything it rewrote).
 */
export function commitErasesPersonalData(changes: ReadonlyMap<string, StoredDoc | undefined>): boolean {
  for (const [name, doc] of changes) {
    if (!doc) continue;
    const at = name.indexOf('/documents/');
    const path = at < 0 ? name : name.slice(at + '/documents/'.length);
    const [collection, , sub] = path.split('/');
    if (sub !== undefined) continue;
    if (collection === 'subject_keys' && stringField(doc, 'state') === 'destroyed') return true;
    if (collection === 'erasure_requests' && stringField(doc, 'status') === 'completed') return true;
  }
  return false;
}

function stringField(doc: StoredDoc, field: string): string | undefined {
  const v = doc.fields.get(field);
  return v?.kind === 'string' ? v.value : undefined;
}
