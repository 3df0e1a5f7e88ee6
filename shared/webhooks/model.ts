import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../events/catalogue.js';

/** Webhook subscriptions, deliveries and attempts: API inputs and stored documents. */
export const COLLECTIONS = {
  subscriptions: 'webhook_subscriptions',
  deliveries: 'webhook_deliveries',
  attempts: 'webhook_attempts',
} as const;

/** Delivery records and attempts are operational logs: kept 30 days (Firestore TTL on `expire_at`). */
export const RETENTION_DAYS = 30;
export const DEFAULT_OVERLAP_SECONDS = 24 * 3600;

const EventTypesInput = z
  .array(z.enum(WEBHOOK_EVENT_TYPES as [string, ...string[]]))
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .transform((t) => [...new Set(t)].sort());
const Url = z.string().trim().min(1).max(2048);
const Description = z.string().trim().min(1).max(200).nullable();

export const CreateSubscriptionSchema = z.strictObject({
  url: Url,
  event_types: EventTypesInput,
  description: Description.optional(),
  enabled: z.boolean().default(true),
});
export type CreateSubscription = z.infer<typeof CreateSubscriptionSchema>;

export const UpdateSubscriptionSchema = z
  .strictObject({ url: Url.optional(), event_types: EventTypesInput.optional(), description: Description.optional(), enabled: z.boolean().optional() })
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change' });
export type UpdateSubscription = z.infer<typeof UpdateSubscriptionSchema>;

export const RotateSecretSchema = z.strictObject({
  /** How long the previous secret keeps signing alongside the new one. */
  overlap_seconds: z.number().int().min(0).max(7 * 24 * 3600).default(DEFAULT_OVERLAP_SECONDS),
});

export const DeadLetterQuerySchema = z.strictObject({
  subscription_id: z.string().max(64).optional(),
  page_size: z.coerce.number().int().min(1).max(100).default(50),
});

export const AttemptQuerySchema = z.strictObject({ page_size: z.coerce.number().int().min(1).max(200).default(50) });

const SealedSecretSchema = z.object({ id: z.string(), sealed: z.string(), created_at: z.string(), expires_at: z.string().nullable() });

export const SubscriptionDocSchema = z.object({
  id: z.string(),
  url: z.string(),
  event_types: z.array(z.string()),
  description: z.string().nullable(),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable(),
  secrets: z.array(SealedSecretSchema),
  created_by: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type SubscriptionDoc = z.infer<typeof SubscriptionDocSchema>;

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'dead_lettered', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const DeliveryDocSchema = z.object({
  id: z.string(),
  subscription_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  /** The exact body sent (thin, catalogue-validated), so every retry signs the same bytes. */
  payload: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  next_attempt_at: z.string().nullable(),
  lease_expires_at: z.string().nullable(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  dead_letter_reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
  replays: z.number().int(),
});
export type DeliveryDoc = z.infer<typeof DeliveryDocSchema>;

/** A delivery the sweep may attempt now: pending, its time has come, and no live lease on it. */
export function isDue(d: DeliveryDoc, nowIso: string): boolean {
  return d.status === 'pending' && d.next_attempt_at !== null && d.next_attempt_at <= nowIso && (d.lease_expires_at === null || d.lease_expires_at <= nowIso);
}

export const AttemptDocSchema = z.object({
  id: z.string(),
  delivery_id: z.string(),
  subscription_id: z.string(),
  event_id: z.string(),
  attempt: z.number().int(),
  at: z.string(),
  outcome: z.enum(['succeeded', 'failed', 'gone', 'blocked']),
  status_code: z.number().int().nullable(),
  latency_ms: z.number().int(),
  error: z.string().nullable(),
  next_attempt_at: z.string().nullable(),
});
export type AttemptDoc = z.infer<typeof AttemptDocSchema>;

/** What the API shows: never a secret, only which secrets exist and until when they sign. */
export function presentSubscription(doc: SubscriptionDoc) {
  return {
    id: doc.id,
    url: doc.url,
    event_types: doc.event_types,
    description: doc.description,
    enabled: doc.enabled,
    disabled_reason: doc.disabled_reason,
    secrets: doc.secrets.map((s) => ({ id: s.id, created_at: s.created_at, expires_at: s.expires_at })),
    created_by: doc.created_by,
    created_at: doc.created_at,
    updated_at: doc.updated_at,
  };
}

export function presentDelivery(doc: DeliveryDoc) {
  const { payload: _payload, lease_expires_at: _lease, ...rest } = doc;
  return rest;
}
