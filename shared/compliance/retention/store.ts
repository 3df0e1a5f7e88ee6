import type { Firestore } from '@google-cloud/firestore';
import { DEFAULT_POLICIES, PolicySchema, RETENTION_KINDS, type Policy, type RetentionKind } from './policy.js';

export const POLICIES_COLLECTION = 'retention_policies';

export class PolicyStore {
  constructor(private readonly db: Firestore) {}

  /** Every kind: the stored policy, or the default until someone changes it. */
  async all(): Promise<Record<RetentionKind, Policy>> {
    const snap = await this.db.collection(POLICIES_COLLECTION).get();
    const out = { ...DEFAULT_POLICIES } as Record<RetentionKind, Policy>;
    for (const d of snap.docs) {
      const p = PolicySchema.safeParse(d.data());
      if (p.success) out[p.data.kind] = p.data;
    }
    return out;
  }

  /** Applies changes in one transaction so a lock check and its write cannot interleave with another PUT. */
  async update(change: (current: Record<RetentionKind, Policy>) => Policy[]): Promise<{ before: Record<RetentionKind, Policy>; written: Policy[] }> {
    return this.db.runTransaction(async (tx) => {
      const refs = RETENTION_KINDS.map((k) => this.db.collection(POLICIES_COLLECTION).doc(k));
      const snaps = await tx.getAll(...refs);
      const before = { ...DEFAULT_POLICIES } as Record<RetentionKind, Policy>;
      for (const s of snaps) {
        const p = s.exists ? PolicySchema.safeParse(s.data()) : null;
        if (p?.success) before[p.data.kind] = p.data;
      }
      const written = change(before);
      for (const p of written) tx.set(this.db.collection(POLICIES_COLLECTION).doc(p.kind), p);
      return { before, written };
    });
  }
}
