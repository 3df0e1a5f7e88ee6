import type { Firestore } from '@google-cloud/firestore';
import type { AuditLog } from '../../audit/model.js';
import type { Clock } from '../../platform/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../../platform/errors.js';
import { auditOrigin, type RequestActor } from '../actor.js';
import { ERASURE_COLLECTION, ErasureDocSchema, type ErasureDoc, type ExtendErasure } from './model.js';

/**
 * `POST /v1/erasure-requests/{id}:extend` (docs/decisions/0044). GDPR art. 12(3): the one-month
 * deadline "may be extended by two further months where necessary, taking into account the
 * complexity and number of the requests", and the subject must be told, with the reasons, within
 * the first month. So: once per request, before the original deadline, with a reason, at most two
 * months further; the extended deadline becomes `due_at` (flags, ordering and re-drives follow it).
 */
export const MAX_EXTENSION_MONTHS = 2;

/** Calendar months later, clamped to the target month's last day (31 Jan + 1 month = 28/29 Feb). */
export function addMonths(from: Date, months: number): Date {
  const d = new Date(from);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

export type ExtensionRefusal =
  | { code: 'already-extended'; extension: NonNullable<ErasureDoc['extension']> }
  | { code: 'completed' }
  | { code: 'too-late'; due_at: string }
  | { code: 'out-of-range'; latest: string; earliest: string };

/** Pure: the extended request, or why it cannot be extended. */
export function planExtension(doc: ErasureDoc, input: ExtendErasure, actor: string, now: Date): { ok: true; next: ErasureDoc } | { ok: false; refusal: ExtensionRefusal } {
  if (doc.extension) return { ok: false, refusal: { code: 'already-extended', extension: doc.extension } };
  if (doc.status === 'completed') return { ok: false, refusal: { code: 'completed' } };
  if (now.getTime() >= new Date(doc.due_at).getTime()) return { ok: false, refusal: { code: 'too-late', due_at: doc.due_at } };
  const latest = addMonths(new Date(doc.due_at), MAX_EXTENSION_MONTHS).toISOString();
  const until = input.extended_until ?? latest;
  if (until <= doc.due_at || until > latest) return { ok: false, refusal: { code: 'out-of-range', latest, earliest: doc.due_at } };
  const at = now.toISOString();
  return {
    ok: true,
    next: {
      ...doc,
      due_at: until,
      updated_at: at,
      extension: { original_due_at: doc.due_at, extended_until: until, reason: input.reason, extended_by: actor, extended_at: at, subject_informed: true },
      history: [...doc.history, { at, from: doc.status, to: doc.status, note: `deadline extended to ${until}` }],
    },
  };
}

function refusalError(id: string, r: ExtensionRefusal): Error {
  switch (r.code) {
    case 'already-extended':
      return new ConflictError('erasure-already-extended', `Erasure request ${id} was already extended (until ${r.extension.extended_until}); GDPR art. 12(3) allows one extension.`, {
        extended_until: r.extension.extended_until,
        extended_by: r.extension.extended_by,
        extended_at: r.extension.extended_at,
      });
    case 'completed':
      return new ConflictError('erasure-completed', `Erasure request ${id} is completed; there is no deadline to extend.`, { status_now: 'completed' });
    case 'too-late':
      return new ConflictError('erasure-extension-too-late', `Erasure request ${id} was due ${r.due_at}; an extension must be decided, and the subject told, before the original deadline.`, { due_at: r.due_at });
    case 'out-of-range':
      return new ValidationError(`body.extended_until: must be after ${r.earliest} and no later than ${r.latest} (two months after the original deadline)`, [
        { path: 'body.extended_until', message: `after ${r.earliest}, at most ${r.latest}` },
      ]);
  }
}

export class ErasureExtensions {
  constructor(private readonly deps: { db: Firestore; audit: AuditLog; clock: Clock }) {}

  async extend(id: string, input: ExtendErasure, actor: RequestActor): Promise<ErasureDoc> {
    if (!/^era_[0-9a-z]{1,64}$/.test(id)) throw new NotFoundError('Erasure request');
    const now = this.deps.clock.now();
    const ref = this.deps.db.collection(ERASURE_COLLECTION).doc(id);
    // Read, decide and write in one transaction: two concurrent extensions cannot both pass "not yet extended".
    const next = await this.deps.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      if (!snap.exists) throw new NotFoundError('Erasure request');
      const planned = planExtension(ErasureDocSchema.parse(snap.data()), input, actor.email, now);
      if (!planned.ok) throw refusalError(id, planned.refusal);
      tx.set(ref, planned.next);
      return planned.next;
    });
    const ext = next.extension!;
    await this.deps.audit.write({
      ...auditOrigin(actor),
      action: 'erasure.extended',
      resource: `erasure-requests/${id}`,
      outcome: 'allowed',
      reason: input.reason,
      details: { original_due_at: ext.original_due_at, extended_until: ext.extended_until, subject_informed: true, status: next.status },
    });
    return next;
  }
}
