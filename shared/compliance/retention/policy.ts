import { z } from 'zod';

/**
 * Retention policies, one per kind of record. Pure: defaults, validation and the lock rule.
 * `audit` is enforced by the audit log bucket (Terraform, retention-locked in production), not by
 * the sweep; its policy here documents and bounds it.
 */
export const RETENTION_KINDS = [
  'investigations.closed',
  'investigations.cancelled',
  'investigations.failed',
  'comments',
  'webhook_deliveries',
  'idempotency_keys',
  'outbox',
  'audit',
] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

export const RETENTION_ACTIONS = ['delete', 'anonymise', 'external'] as const;
export type RetentionAction = (typeof RETENTION_ACTIONS)[number];

export const PolicySchema = z.object({
  kind: z.enum(RETENTION_KINDS),
  days: z.number().int().min(1).max(36_500),
  action: z.enum(RETENTION_ACTIONS),
  locked: z.boolean(),
  updated_at: z.string().nullable(),
  updated_by: z.string().nullable(),
});
export type Policy = z.infer<typeof PolicySchema>;

const d = (kind: RetentionKind, days: number, action: RetentionAction = 'delete'): Policy => ({ kind, days, action, locked: false, updated_at: null, updated_by: null });

export const DEFAULT_POLICIES: Readonly<Record<RetentionKind, Policy>> = {
  'investigations.closed': d('investigations.closed', 730),
  'investigations.cancelled': d('investigations.cancelled', 90),
  'investigations.failed': d('investigations.failed', 180),
  /** Comments on finished (closed, cancelled, failed) investigations; open work keeps its comments. */
  comments: d('comments', 730),
  webhook_deliveries: d('webhook_deliveries', 30),
  idempotency_keys: d('idempotency_keys', 7),
  /** Published outbox entries only: unpublished ones are work still to do. */
  outbox: d('outbox', 7),
  audit: d('audit', 400, 'external'),
};

/** Which actions a kind supports. */
export const ACTIONS_OF: Readonly<Record<RetentionKind, readonly RetentionAction[]>> = {
  'investigations.closed': ['delete', 'anonymise'],
  'investigations.cancelled': ['delete', 'anonymise'],
  'investigations.failed': ['delete', 'anonymise'],
  comments: ['delete'],
  webhook_deliveries: ['delete'],
  idempotency_keys: ['delete'],
  outbox: ['delete'],
  audit: ['external'],
};

export const PolicyChangeSchema = z.strictObject({
  kind: z.enum(RETENTION_KINDS),
  days: z.number().int().min(1).max(36_500).optional(),
  action: z.enum(RETENTION_ACTIONS).optional(),
  locked: z.boolean().optional(),
});
export type PolicyChange = z.infer<typeof PolicyChangeSchema>;

export const PutPoliciesSchema = z.strictObject({ policies: z.array(PolicyChangeSchema).min(1).max(RETENTION_KINDS.length) });

export type ChangeResult = { ok: true; next: Policy; changed: boolean } | { ok: false; code: 'locked' | 'invalid'; reason: string };

/**
 * Pure lock rule. A locked policy can be lengthened, never shortened, never unlocked, and its
 * action cannot change (switching delete ↔ anonymise changes what survives). Locking is one-way.
 */
export function applyPolicyChange(current: Policy, change: PolicyChange, by: string, at: string): ChangeResult {
  const days = change.days ?? current.days;
  const action = change.action ?? current.action;
  const locked = change.locked ?? current.locked;
  if (!ACTIONS_OF[current.kind].includes(action)) return { ok: false, code: 'invalid', reason: `action "${action}" is not available for ${current.kind} (use ${ACTIONS_OF[current.kind].join(' or ')})` };
  if (current.locked) {
    if (!locked) return { ok: false, code: 'locked', reason: 'a locked policy cannot be unlocked' };
    if (days < current.days) return { ok: false, code: 'locked', reason: `it can be lengthened but not shortened (${current.days} → ${days} days refused)` };
    if (action !== current.action) return { ok: false, code: 'locked', reason: 'its action cannot change' };
  }
  const changed = days !== current.days || action !== current.action || locked !== current.locked;
  return { ok: true, changed, next: changed ? { ...current, days, action, locked, updated_at: at, updated_by: by } : current };
}
