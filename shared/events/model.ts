import { z } from 'zod';
import { newId } from '../platform/ids.js';
import { InvalidEventError, dataSchemaUri, validateData } from './catalogue.js';

/**
 * Platform events are CloudEvents 1.0 (structured JSON). In production they travel as the data of
 * a Pub/Sub message; Eventarc then wraps that message in a `messagePublished` CloudEvent for the
 * receiving function. The local bus delivers exactly that wrapper, so receivers have one path.
 */
export const EVENT_SOURCE = '//tsi.platform/investigations';

export const EventTypes = {
  investigationRequested: 'tsi.investigation.requested.v1',
  investigationStarted: 'tsi.investigation.started.v1',
  investigationStepCompleted: 'tsi.investigation.step_completed.v1',
  investigationCompleted: 'tsi.investigation.completed.v1',
  investigationFailed: 'tsi.investigation.failed.v1',
  investigationCancelled: 'tsi.investigation.cancelled.v1',
  investigationAssigned: 'tsi.investigation.assigned.v1',
  investigationClosed: 'tsi.investigation.closed.v1',
  investigationReopened: 'tsi.investigation.reopened.v1',
  investigationCommented: 'tsi.investigation.commented.v1',
  investigationRequeued: 'tsi.investigation.requeued.v1',
  /** Inbound: another system asks for an investigation (intake topic). */
  investigationRequestSubmitted: 'tsi.investigation.request.submitted.v1',
  findingCreated: 'tsi.finding.created.v1',
  legalHoldPlaced: 'tsi.legal_hold.placed.v1',
  legalHoldReleased: 'tsi.legal_hold.released.v1',
  erasureRequested: 'tsi.erasure.requested.v1',
  erasureCompleted: 'tsi.erasure.completed.v1',
  schedulerReconcile: 'tsi.scheduler.reconcile.v1',
  schedulerRetention: 'tsi.scheduler.retention.v1',
  schedulerDataQuality: 'tsi.scheduler.data_quality.v1',
  schedulerBackup: 'tsi.scheduler.backup.v1',
} as const;
export type EventType = (typeof EventTypes)[keyof typeof EventTypes];

export const PlatformEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(128),
  source: z.string().min(1),
  type: z.string().regex(/^tsi\.[a-z_.]+\.v\d+$/),
  subject: z.string().max(256).optional(),
  time: z.string().datetime({ offset: true }),
  dataschema: z.url().max(256).optional(),
  datacontenttype: z.literal('application/json').optional(),
  data: z.record(z.string(), z.unknown()),
});
export type PlatformEvent = z.infer<typeof PlatformEventSchema>;

/**
 * Builds an event and validates its data against the catalogue (catalogue.ts): an invalid event
 * is a programming error, so it throws here, inside the transaction that would have stored it,
 * instead of reaching the outbox. Payloads never carry personal data: ids and states only.
 */
export function makeEvent(type: EventType, subject: string | undefined, data: Record<string, unknown>, now: Date): PlatformEvent {
  return {
    specversion: '1.0',
    id: newId('evt', now.getTime()),
    source: EVENT_SOURCE,
    type,
    ...(subject ? { subject } : {}),
    time: now.toISOString(),
    dataschema: dataSchemaUri(type),
    datacontenttype: 'application/json',
    data: validateData(type, data),
  };
}

/** Envelope + catalogue validation of an event someone hands us (publish or receive). */
export function validateEvent(input: unknown): PlatformEvent {
  const envelope = PlatformEventSchema.safeParse(input);
  if (!envelope.success) {
    const type = typeof (input as { type?: unknown })?.type === 'string' ? String((input as { type: string }).type) : 'unknown';
    throw new InvalidEventError(type, envelope.error.issues.map((i) => `${i.path.join('.')}: ${i.code}`));
  }
  return { ...envelope.data, data: validateData(envelope.data.type, envelope.data.data) };
}

export const RequestedDataSchema = z.object({ investigation_id: z.string().min(1) });
