import type { Firestore } from '@google-cloud/firestore';
import { NotFoundError } from '../../platform/errors.js';
import { HOLDS_COLLECTION, HoldDocSchema, type HoldDoc } from './model.js';

export class HoldStore {
  constructor(private readonly db: Firestore) {}

  private col() {
    return this.db.collection(HOLDS_COLLECTION);
  }

  async create(doc: HoldDoc): Promise<void> {
    await this.col().doc(doc.id).create(doc);
  }

  async get(id: string): Promise<HoldDoc | null> {
    if (!/^hold_[0-9a-z]{1,64}$/.test(id)) return null;
    const snap = await this.col().doc(id).get();
    return snap.exists ? HoldDocSchema.parse(snap.data()) : null;
  }

  async list(state?: 'active' | 'released', limit = 500): Promise<HoldDoc[]> {
    const query = state ? this.col().where('state', '==', state) : this.col();
    const snap = await query.limit(limit).get();
    return snap.docs.map((d) => HoldDocSchema.parse(d.data())).sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  /** Every active hold. Holds are few (legal matters), so deletion paths load them all once. */
  async active(): Promise<HoldDoc[]> {
    const snap = await this.col().where('state', '==', 'active').get();
    return snap.docs.map((d) => HoldDocSchema.parse(d.data()));
  }

  async mutate(id: string, change: (doc: HoldDoc) => HoldDoc): Promise<{ before: HoldDoc; after: HoldDoc }> {
    return this.db.runTransaction(async (tx) => {
      const ref = this.col().doc(id);
      const snap = await tx.get(ref);
      if (!snap.exists) throw new NotFoundError('Legal hold');
      const before = HoldDocSchema.parse(snap.data());
      const after = change(before);
      tx.set(ref, after);
      return { before, after };
    });
  }
}
