import { z } from 'zod';
import { SUBJECT_TYPES } from '../../agent/model.js';
import { SubjectSchema } from '../../investigations/model.js';

/** Erasure requests (GDPR art. 17): model, pure state machine and due-date rules. */
export const ERASURE_COLLECTION = 'erasure_requests';
export const LEDGER_COLLECTION = 'erasure_ledger';
export const DUE_SOON_DAYS = 7;

export const ERASURE_STATUSES = ['requested', 'blocked', 'running', 'completed'] as const;
export type ErasureStatus = (typeof ERASURE_STATUSES)[number];
export type ErasureAction = 'block' | 'start' | 'complete' | 'requeue';

const NEXT: Record<ErasureAction, Partial<Record<ErasureStatus, ErasureStatus>>> = {
  block: { requested: 'blocked', blocked: 'blocked', running: 'blocked' },
  start: { requested: 'running', blocked: 'running', running: 'running' },
  complete: { running: 'completed' },
  // A run that failed part-way goes back to the queue (the executor is idempotent).
  requeue: { running: 'requested' },
};

/** Pure: the next status, or null when the move is not allowed (completed is final). */
export function erasureTransition(from: ErasureStatus, action: ErasureAction): ErasureStatus | null {
  return NEXT[action][from] ?? null;
}

/** One calendar month after the request (GDPR art. 12(3)), clamped to the month's last day. */
export function dueDate(requestedAt: Date): Date {
  const d = new Date(requestedAt);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + 1);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

export type DueFlag = 'overdue' | 'due_soon' | null;

/** Pure: open requests within DUE_SOON_DAYS of their due date are flagged; past it, overdue. */
export function dueFlag(status: ErasureStatus, dueAt: string, now: Date): { flag: DueFlag; days_left: number } {
  const daysLeft = Math.floor((new Date(dueAt).getTime() - now.getTime()) / 86_400_000);
  if (status === 'completed') return { flag: null, days_left: daysLeft };
  if (new Date(dueAt).getTime() <= now.getTime()) return { flag: 'overdue', days_left: daysLeft };
  return { flag: new Date(dueAt).getTime() - now.getTime() <= DUE_SOON_DAYS * 86_400_000 ? 'due_soon' : null, days_left: daysLeft };
}

export const CreateErasureSchema = z.strictObject({ subject: SubjectSchema });
export const ErasureListQuerySchema = z.strictObject({ status: z.enum(ERASURE_STATUSES).optional() });

export const StoreCountSchema = z.object({ store: z.string(), scanned: z.number().int(), erased: z.number().int(), deleted: z.number().int(), note: z.string().optional() });
export type StoreCount = z.infer<typeof StoreCountSchema>;

export const ReceiptSchema = z.object({
  erasure_id: z.string(),
  /** Pseudonymous subject id: the keyed blind index, never the value. */
  subject_pseudonym: z.string(),
  subject_type: z.enum(SUBJECT_TYPES),
  requested_at: z.string(),
  completed_at: z.string(),
  hold_check: z.object({ checked_at: z.string(), holds_found: z.array(z.string()), outcome: z.literal('clear') }),
  stores: z.array(StoreCountSchema),
  key: z.object({ key_id: z.string(), generation: z.number().int(), had_key: z.boolean(), destroyed_at: z.string() }),
  backups: z.object({
    last_backup_with_ciphertext_expires_at: z.string(),
    note: z.string(),
    /** The escrow entry of the data key was deleted (absent on receipts written before escrow). */
    key_escrow_destroyed: z.boolean().optional(),
    /** Until when Firestore point-in-time recovery still holds the key document as it was. */
    pitr_window_ends_at: z.string().optional(),
  }),
  warehouse: z.object({ owner_action_required: z.literal(true), note: z.string() }),
});
export type Receipt = z.infer<typeof ReceiptSchema>;

/**
 * A deadline extended once (GDPR art. 12(3): by up to two further months where the request is
 * complex or numerous; the subject is told, with the reasons, within the first month).
 */
export const ErasureExtensionSchema = z.object({
  original_due_at: z.string(),
  extended_until: z.string(),
  reason: z.string(),
  extended_by: z.string(),
  extended_at: z.string(),
  /** The officer confirmed the subject has been told of the extension and why (we hold no contact details). */
  subject_informed: z.literal(true),
});
export type ErasureExtension = z.infer<typeof ErasureExtensionSchema>;

export const ExtendErasureSchema = z.strictObject({
  reason: z.string().trim().min(10, 'say why the request needs longer (complexity, number of requests)').max(2000),
  /** Default and maximum: two months after the original due date. */
  extended_until: z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString()).optional(),
  subject_informed: z.literal(true, 'confirm the data subject has been told of the extension and its reasons'),
});
export type ExtendErasure = z.infer<typeof ExtendErasureSchema>;

export const ErasureDocSchema = z.object({
  id: z.string(),
  subject_index: z.string(),
  subject_type: z.enum(SUBJECT_TYPES),
  status: z.enum(ERASURE_STATUSES),
  requested_by: z.string(),
  requested_at: z.string(),
  due_at: z.string(),
  updated_at: z.string(),
  blocked_by: z.array(z.object({ id: z.string(), matter: z.string() })),
  attempts: z.number().int(),
  completed_at: z.string().nullable(),
  receipt: ReceiptSchema.nullable(),
  history: z.array(z.object({ at: z.string(), from: z.string().nullable(), to: z.string(), note: z.string().nullable() })),
  /** Set once by `:extend`; `due_at` then holds the extended deadline. Absent on older requests. */
  extension: ErasureExtensionSchema.nullable().optional(),
});
export type ErasureDoc = z.infer<typeof ErasureDocSchema>;

export function presentErasure(doc: ErasureDoc, now: Date) {
  const due = dueFlag(doc.status, doc.due_at, now);
  return {
    id: doc.id,
    status: doc.status,
    subject: { type: doc.subject_type, pseudonym: doc.subject_index },
    requested_by: doc.requested_by,
    requested_at: doc.requested_at,
    due_at: doc.due_at,
    original_due_at: doc.extension?.original_due_at ?? doc.due_at,
    extension: doc.extension ?? null,
    due_flag: due.flag,
    days_left: due.days_left,
    blocked_by: doc.status === 'blocked' ? doc.blocked_by : [],
    completed_at: doc.completed_at,
    receipt: doc.receipt,
  };
}
