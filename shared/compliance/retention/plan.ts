/**
 * Pure sweep planning: what to do with one candidate record given its policy, the holds covering
 * it and "now". The executor (sweep.ts) feeds it pages of records and carries out the answer.
 */
export const DAY_MS = 86_400_000;
/** Records whose retention ends within this window get a Firestore TTL stamp (`expire_at`). */
export const TTL_LOOKAHEAD_DAYS = 7;

export interface Candidate {
  /** When the retention clock started (closed / updated / created time), ISO. */
  anchor: string;
  /** The `expire_at` stamp now on the record, ISO, or null. */
  expireAt: string | null;
  /** False when the kind's rules exclude it now (an unpublished outbox entry, open work). */
  eligible: boolean;
  /** Ids of the active holds covering it. */
  heldBy: readonly string[];
  /** Already anonymised (nothing left to do for an anonymise policy). */
  anonymised?: boolean;
}

export type Decision =
  | { do: 'delete' | 'anonymise' }
  | { do: 'blocked'; holds: readonly string[]; unstamp: boolean }
  | { do: 'stamp'; expireAt: string }
  | { do: 'unstamp' }
  | { do: 'none' };

export function dueAt(anchor: string, days: number): string {
  return new Date(new Date(anchor).getTime() + days * DAY_MS).toISOString();
}

export function decide(c: Candidate, policy: { days: number; action: string }, now: Date): Decision {
  if (!c.eligible) return c.expireAt ? { do: 'unstamp' } : { do: 'none' };
  const due = dueAt(c.anchor, policy.days);
  const past = due <= now.toISOString();
  if (c.heldBy.length) {
    // A hold overrides retention and TTL: nothing goes, and no TTL stamp may stay behind.
    if (past) return { do: 'blocked', holds: c.heldBy, unstamp: c.expireAt !== null };
    return c.expireAt ? { do: 'unstamp' } : { do: 'none' };
  }
  if (policy.action === 'anonymise' && c.anonymised) return c.expireAt ? { do: 'unstamp' } : { do: 'none' };
  if (past) return { do: policy.action === 'anonymise' ? 'anonymise' : 'delete' };
  // TTL only for deletes: Firestore TTL deletes, it cannot anonymise.
  if (policy.action !== 'delete') return c.expireAt ? { do: 'unstamp' } : { do: 'none' };
  const soon = new Date(now.getTime() + TTL_LOOKAHEAD_DAYS * DAY_MS).toISOString();
  if (due <= soon) return c.expireAt === due ? { do: 'none' } : { do: 'stamp', expireAt: due };
  return c.expireAt ? { do: 'unstamp' } : { do: 'none' };
}

/** Read-time filter: a record whose TTL stamp has passed is treated as already gone. */
export function isExpired(data: { expire_at?: unknown } | undefined, now: Date): boolean {
  const v = data?.expire_at;
  if (v === undefined || v === null) return false;
  const t = v instanceof Date ? v.getTime() : typeof (v as { toMillis?: () => number }).toMillis === 'function' ? (v as { toMillis(): number }).toMillis() : Date.parse(String(v));
  return Number.isFinite(t) && t <= now.getTime();
}
