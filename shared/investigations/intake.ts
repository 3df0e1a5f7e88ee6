import type { AuditLog } from '../audit/model.js';
import { unwrapPushMessage } from '../events/envelope.js';
import { EventTypes, type PlatformEvent } from '../events/model.js';
import { AppError, IdempotencyConflictError, UnauthenticatedError } from '../platform/errors.js';
import type { Caller } from '../platform/http.js';
import type { Logger } from '../platform/logger.js';
import { CreateInvestigationSchema } from './model.js';
import type { InvestigationService } from './service.js';

/**
 * Pub/Sub-triggered investigations: another system publishes `tsi.investigation.request.submitted.v1`
 * to the intake topic; its push subscription delivers it here with an OIDC token of the system's
 * service account (docs/decisions/0010). The request then takes exactly the HTTPS path: same
 * identity verification, same permission, same validation, same service call and audit, keyed
 * for idempotency on the event id so a redelivery never creates a second investigation.
 *
 * Answers: 401 when the push carries no valid token (not a genuine push: nothing to acknowledge);
 * 200 with an outcome for everything else a redelivery cannot change (created, replayed,
 * refused, invalid), so Pub/Sub stops redelivering; errors worth retrying (rate limit, store
 * down) propagate and become a non-2xx, i.e. a redelivery.
 */
export interface IntakeDeps {
  service: InvestigationService;
  audit: AuditLog;
  logger: Logger;
  identify(headers: Record<string, string | string[] | undefined>): Promise<Caller>;
}

export type IntakeOutcome = 'created' | 'replayed' | 'refused' | 'invalid';

export interface IntakeResult {
  status: number;
  body: { outcome: IntakeOutcome | 'unauthenticated'; investigation_id?: string; reason?: string; event_id?: string };
}

const ACTION = 'investigations.create';

export async function handleIntakePush(
  request: { headers: Record<string, string | string[] | undefined>; body: unknown; sourceIp?: string | null },
  deps: IntakeDeps,
): Promise<IntakeResult> {
  const log = deps.logger.child({ component: 'intake' });
  let caller: Caller;
  try {
    caller = await deps.identify(request.headers);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    await deps.audit.write({ actor: null, roles: [], action: ACTION, resource: 'intake', outcome: 'denied', reason: error.type, request_id: null, trace: null, source_ip: request.sourceIp ?? null, details: { via: 'pubsub' } });
    return { status: error instanceof UnauthenticatedError ? 401 : error.status, body: { outcome: 'unauthenticated', reason: error.type } };
  }

  const base = { actor: caller.email, roles: caller.roles, trace: null, source_ip: request.sourceIp ?? null };
  const refuse = async (outcome: 'refused' | 'invalid', reason: string, event?: PlatformEvent): Promise<IntakeResult> => {
    log.warn('investigation request dropped', { outcome, reason, event_id: event?.id });
    await deps.audit.write({ ...base, action: ACTION, resource: 'investigations', outcome: outcome === 'refused' ? 'denied' : 'rejected', reason, request_id: event?.id ?? null, details: { via: 'pubsub' } });
    return { status: 200, body: { outcome, reason, ...(event ? { event_id: event.id } : {}) } };
  };

  let event: PlatformEvent;
  try {
    event = unwrapPushMessage(request.body);
  } catch (error) {
    log.error('dropping malformed intake message', error);
    return refuse('invalid', 'malformed or invalid event');
  }
  if (event.type !== EventTypes.investigationRequestSubmitted) return refuse('invalid', `unexpected event type ${event.type}`, event);
  const data = event.data as { requested_by: string; subject: unknown; question?: string; window_days?: number; sensitivity?: string };

  // The token proves who pushed; the message must name the same principal, so a system cannot
  // submit work in another system's name.
  if (data.requested_by.toLowerCase() !== caller.email) return refuse('refused', 'requested_by does not match the authenticated principal', event);
  if (!caller.roles.includes('service') || !caller.can(ACTION)) return refuse('refused', `principal lacks the service role or ${ACTION}`, event);

  const input = CreateInvestigationSchema.safeParse({ subject: data.subject, question: data.question, window_days: data.window_days, sensitivity: data.sensitivity });
  if (!input.success) return refuse('invalid', `validation failed: ${input.error.issues.map((i) => i.path.join('.')).join(', ')}`, event);

  try {
    const created = await deps.service.create(input.data, { caller, requestId: event.id, trace: null, sourceIp: request.sourceIp ?? null }, `event:${event.id}`);
    const id = created.id ?? undefined;
    await deps.audit.write({
      ...base,
      action: ACTION,
      resource: id ? `investigations/${id}` : 'investigations',
      outcome: 'allowed',
      reason: null,
      request_id: event.id,
      details: { via: 'pubsub', event_id: event.id, replayed: created.replayed },
    });
    log.info('investigation requested over Pub/Sub', { investigation_id: id, event_id: event.id, replayed: created.replayed });
    return { status: 200, body: { outcome: created.replayed ? 'replayed' : 'created', event_id: event.id, ...(id ? { investigation_id: id } : {}) } };
  } catch (error) {
    if (error instanceof IdempotencyConflictError) return refuse('invalid', 'event id reused with a different request', event);
    throw error;
  }
}
