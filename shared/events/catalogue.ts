import { z } from 'zod';
import { ACTIONS, SEVERITIES, SUBJECT_TYPES } from '../agent/model.js';
import { DECISIONS } from '../investigations/model.js';
import { STATUSES } from '../investigations/state-machine.js';

/**
 * The event catalogue: every CloudEvent type the platform emits or accepts, with its version and
 * the zod schema of its `data`. The type carries the major version (`tsi.<name>.v<N>`), and
 * `dataschema` points at the JSON Schema generated from the same zod schema, so producers,
 * consumers and docs/events.md never drift apart.
 *
 * Payloads are thin: ids, states, counts and enum values. Readers fetch anything else through the
 * audited API. Schemas are strict, so a field that is not in the catalogue (an email slipped into
 * an event, say) makes the event invalid instead of travelling silently.
 */
export const SCHEMA_BASE = 'https://tsi.dev/schemas/events/';

/**
 * - `public`: a notification about platform state; published, delivered to webhooks.
 * - `internal`: platform plumbing (scheduler ticks, re-queues); published, never sent to webhooks.
 * - `inbound`: a command other systems publish to us (its own intake topic); it carries the
 *   request itself, so it is never re-published or sent to webhooks.
 */
export type Audience = 'public' | 'internal' | 'inbound';

export interface EventSpec {
  /** CloudEvents `type`, e.g. `tsi.investigation.completed.v1`. */
  type: string;
  /** The name without prefix and version, e.g. `investigation.completed` (Pub/Sub `type` attribute). */
  name: string;
  version: number;
  audience: Audience;
  description: string;
  data: z.ZodObject;
}

const Id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[0-9A-Za-z_-]{1,64}$`), `must be a ${prefix}_ id`);
const InvestigationId = Id('inv');
const Status = z.enum(STATUSES);
const Count = z.number().int().min(0);
const base = { investigation_id: InvestigationId, status: Status };

function spec(name: string, version: number, audience: Audience, description: string, data: z.ZodObject): EventSpec {
  return { type: `tsi.${name}.v${version}`, name, version, audience, description, data };
}

export const CATALOGUE = [
  spec('investigation.requested', 1, 'public', 'An investigation was created (or re-queued) and waits for a worker. The worker acts on it.', z.strictObject({ ...base, sensitivity: z.enum(['standard', 'restricted']) })),
  spec(
    'investigation.request.submitted',
    1,
    'inbound',
    'Another system asks for an investigation over Pub/Sub, exactly as `POST /v1/investigations` would. Carries the subject, so it is accepted only on the intake topic and never re-published.',
    z.strictObject({
      requested_by: z.email().max(320),
      subject: z.strictObject({ type: z.enum(SUBJECT_TYPES), value: z.string().min(1).max(320) }),
      question: z.string().min(1).max(2000).optional(),
      window_days: z.number().int().min(1).max(90).optional(),
      sensitivity: z.enum(['standard', 'restricted']).optional(),
    }),
  ),
  spec('investigation.started', 1, 'public', 'A worker claimed the investigation and started running it.', z.strictObject({ ...base, attempt: z.number().int().min(1) })),
  spec('investigation.step_completed', 1, 'public', 'One query step finished (live progress).', z.strictObject({ ...base, step: z.string().min(1).max(64), index: Count, rows: Count })),
  spec(
    'investigation.completed',
    1,
    'public',
    'The run finished with findings, a risk score and a recommended action.',
    z.strictObject({ ...base, risk_score: z.number().min(0).max(100), recommended_action: z.enum(ACTIONS), findings: Count, escalate: z.boolean() }),
  ),
  spec('investigation.failed', 1, 'public', 'The run failed; the reason is on the investigation (API).', z.strictObject({ ...base })),
  spec('investigation.cancelled', 1, 'public', 'The investigation was cancelled.', z.strictObject({ ...base })),
  spec('investigation.assigned', 1, 'public', 'The investigation was (re)assigned; the assignee is on the investigation (API).', z.strictObject({ ...base })),
  spec(
    'investigation.closed',
    1,
    'public',
    'A lead closed the investigation with a decision.',
    z.strictObject({ ...base, decision: z.enum(DECISIONS) }),
  ),
  spec('investigation.reopened', 1, 'public', 'A lead reopened a closed investigation.', z.strictObject({ ...base })),
  spec('investigation.commented', 1, 'public', 'A comment was added (its body is read through the API).', z.strictObject({ ...base, comment_id: Id('cmt') })),
  spec('investigation.requeued', 1, 'internal', 'The reconciler re-queued work whose worker stopped renewing its lease.', z.strictObject({ ...base, attempts: Count })),
  spec(
    'finding.created',
    1,
    'public',
    'A completed run recorded a finding (one event per finding).',
    z.strictObject({
      investigation_id: InvestigationId,
      finding_id: z.string().min(1).max(128),
      finding_type: z.string().min(1).max(64),
      severity: z.enum(SEVERITIES),
      escalate: z.boolean(),
    }),
  ),
  spec('legal_hold.placed', 1, 'public', 'A legal hold was placed (defined for the legal-hold issue).', z.strictObject({ legal_hold_id: Id('hold'), investigation_id: InvestigationId.nullable() })),
  spec('legal_hold.released', 1, 'public', 'A legal hold was released (defined for the legal-hold issue).', z.strictObject({ legal_hold_id: Id('hold'), investigation_id: InvestigationId.nullable() })),
  spec('erasure.requested', 1, 'public', 'An erasure request was accepted (defined for the erasure issue). Names the subject type only, never its value.', z.strictObject({ erasure_id: Id('era'), subject_type: z.enum(SUBJECT_TYPES) })),
  spec(
    'erasure.completed',
    1,
    'public',
    'An erasure request finished: the receipt is on the request (API). `warehouse_request` asks the warehouse owners to erase the subject on their side, named by its pseudonym (keyed blind index), never its value.',
    z.strictObject({
      erasure_id: Id('era'),
      subject_type: z.enum(SUBJECT_TYPES),
      records_erased: Count,
      warehouse_request: z.strictObject({ subject_pseudonym: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/), owner_action_required: z.literal(true) }),
    }),
  ),
  spec('scheduler.retention', 1, 'internal', 'Cloud Scheduler tick: the retention sweep runs, and open erasure requests are re-driven.', z.strictObject({ job: z.literal('retention'), dry_run: z.boolean().optional() })),
  spec('scheduler.reconcile', 1, 'internal', 'Cloud Scheduler tick: the reconciler re-drives stuck work and the webhook sweep retries due deliveries.', z.strictObject({ job: z.literal('reconcile') })),
  spec('scheduler.backup', 1, 'internal', 'Cloud Scheduler tick: the logical Firestore backup runs.', z.strictObject({ job: z.literal('backup') })),
  spec('scheduler.data_quality', 1, 'internal', 'Cloud Scheduler tick: the data-quality checks run (warehouse contract, freshness, volume, stuck work).', z.strictObject({ job: z.literal('data_quality') })),
] as const satisfies readonly EventSpec[];

const BY_TYPE = new Map<string, EventSpec>(CATALOGUE.map((s) => [s.type, s]));

export function specOf(type: string): EventSpec | undefined {
  return BY_TYPE.get(type);
}

/** Types a webhook subscription may ask for. */
export const WEBHOOK_EVENT_TYPES: readonly string[] = CATALOGUE.filter((s) => s.audience === 'public').map((s) => s.type);

export function dataSchemaUri(type: string): string {
  return `${SCHEMA_BASE}${type}.json`;
}

/** JSON Schema (draft 2020-12) of one type's `data`, generated from its zod schema. */
export function jsonSchemaOf(spec: EventSpec): Record<string, unknown> {
  return { $id: dataSchemaUri(spec.type), title: spec.type, description: spec.description, ...z.toJSONSchema(spec.data) };
}

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
  constructor(
    readonly eventType: string,
    readonly issues: string[],
  ) {
    super(`Invalid ${eventType} event: ${issues.join('; ')}`);
  }
}

/**
 * Validates `data` against the catalogue entry of `type`. Issue messages name paths, never
 * values, so they are safe to log.
 */
export function validateData(type: string, data: unknown): Record<string, unknown> {
  const entry = specOf(type);
  if (!entry) throw new InvalidEventError(type, ['unknown event type']);
  const parsed = entry.data.safeParse(data);
  if (!parsed.success) throw new InvalidEventError(type, parsed.error.issues.map((i) => `data.${i.path.join('.')}: ${i.code}`));
  return parsed.data as Record<string, unknown>;
}
