import { z } from 'zod';
import { newId } from '../platform/ids.js';

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
  schedulerReconcile: 'tsi.scheduler.reconcile.v1',
} as const;
export type EventType = (typeof EventTypes)[keyof typeof EventTypes];

export const PlatformEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(128),
  source: z.string().min(1),
  type: z.string().regex(/^tsi\.[a-z_.]+\.v\d+$/),
  subject: z.string().max(256).optional(),
  time: z.string().datetime({ offset: true }),
  datacontenttype: z.literal('application/json').optional(),
  data: z.record(z.string(), z.unknown()),
});
export type PlatformEvent = z.infer<typeof PlatformEventSchema>;

/** Event payloads never carry personal data: ids and states only. */
export function makeEvent(type: EventType, subject: string | undefined, data: Record<string, unknown>, now: Date): PlatformEvent {
  return {
    specversion: '1.0',
    id: newId('evt', now.getTime()),
    source: EVENT_SOURCE,
    type,
    ...(subject ? { subject } : {}),
    time: now.toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

export const RequestedDataSchema = z.object({ investigation_id: z.string().min(1) });
