import { z } from 'zod';
import { SUBJECT_TYPES } from '../../agent/model.js';
import { STATUSES } from '../../investigations/state-machine.js';
import { SubjectSchema } from '../../investigations/model.js';

/** Legal holds: what they cover, as stored, and the pure matcher every deletion path asks. */
export const HOLDS_COLLECTION = 'legal_holds';

const InvestigationId = z.string().regex(/^inv_[0-9A-Za-z_-]{1,64}$/, 'must be an inv_ id');
const Email = z.email().max(320).transform((s) => s.toLowerCase());
const Iso = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

/** "All investigations matching": equality on stored, non-personal fields plus a creation window. */
export const HoldQuerySchema = z
  .strictObject({
    created_by: Email.optional(),
    team: z.string().min(1).max(100).optional(),
    status: z.enum(STATUSES).optional(),
    subject_type: z.enum(SUBJECT_TYPES).optional(),
    created_after: Iso.optional(),
    created_before: Iso.optional(),
  })
  .refine((q) => Object.keys(q).length > 0, { message: 'a query hold needs at least one condition' });
export type HoldQuery = z.infer<typeof HoldQuerySchema>;

export const CreateHoldSchema = z
  .strictObject({
    subject: SubjectSchema.optional(),
    investigation_id: InvestigationId.optional(),
    query: HoldQuerySchema.optional(),
    reason: z.string().trim().min(1).max(2000),
    matter: z.string().trim().min(1).max(200),
  })
  .refine((b) => [b.subject, b.investigation_id, b.query].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of subject, investigation_id or query',
    path: ['subject'],
  });
export type CreateHold = z.infer<typeof CreateHoldSchema>;

export const ReleaseHoldSchema = z.strictObject({ reason: z.string().trim().min(1).max(2000) });
export const HoldListQuerySchema = z.strictObject({ state: z.enum(['active', 'released']).optional() });

/** A subject hold stores the subject's blind index and masked form only, never its value. */
export const HoldTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('subject'), subject_index: z.string(), subject_type: z.enum(SUBJECT_TYPES), display: z.string() }),
  z.object({ kind: z.literal('investigation'), investigation_id: z.string() }),
  z.object({ kind: z.literal('query'), query: z.record(z.string(), z.string()) }),
]);
export type HoldTarget = z.infer<typeof HoldTargetSchema>;

export const HoldDocSchema = z.object({
  id: z.string(),
  state: z.enum(['active', 'released']),
  target: HoldTargetSchema,
  reason: z.string(),
  matter: z.string(),
  placed_by: z.string(),
  placed_at: z.string(),
  released_by: z.string().nullable(),
  released_at: z.string().nullable(),
  release_reason: z.string().nullable(),
});
export type HoldDoc = z.infer<typeof HoldDocSchema>;

/** The facts of an investigation a hold can match on (no personal data). */
export interface InvestigationFacts {
  id: string;
  subject_index: string | null;
  subject_type: string;
  created_by: string;
  team: string | null;
  status: string;
  created_at: string;
}

/** What a deletion path is about to delete or change. */
export type HoldableRecord = { kind: 'investigation'; investigation: InvestigationFacts } | { kind: 'subject'; subject_index: string };

function queryMatches(q: Record<string, string>, inv: InvestigationFacts): boolean {
  if (q.created_by !== undefined && q.created_by !== inv.created_by) return false;
  if (q.team !== undefined && q.team !== inv.team) return false;
  if (q.status !== undefined && q.status !== inv.status) return false;
  if (q.subject_type !== undefined && q.subject_type !== inv.subject_type) return false;
  if (q.created_after !== undefined && inv.created_at < q.created_after) return false;
  if (q.created_before !== undefined && inv.created_at >= q.created_before) return false;
  return true;
}

/** Pure: the active holds that cover a record. No expiry: a hold ends only by release. */
export function holdsCovering(record: HoldableRecord, holds: readonly HoldDoc[]): HoldDoc[] {
  return holds.filter((h) => {
    if (h.state !== 'active') return false;
    const t = h.target;
    if (record.kind === 'subject') return t.kind === 'subject' && t.subject_index === record.subject_index;
    const inv = record.investigation;
    if (t.kind === 'investigation') return t.investigation_id === inv.id;
    if (t.kind === 'subject') return inv.subject_index !== null && t.subject_index === inv.subject_index;
    return queryMatches(t.query, inv);
  });
}

/** Investigation facts from a stored document (sealed or, for old documents, plain subject). */
export function factsOf(data: Record<string, unknown>): InvestigationFacts {
  const subject = (data.subject ?? {}) as { type?: string; index?: string };
  return {
    id: String(data.id),
    subject_index: typeof subject.index === 'string' ? subject.index : null,
    subject_type: String(subject.type ?? ''),
    created_by: String(data.created_by ?? ''),
    team: (data.team as string | null) ?? null,
    status: String(data.status ?? ''),
    created_at: String(data.created_at ?? ''),
  };
}

export function presentHold(h: HoldDoc) {
  return { ...h };
}
