import type { AgentResult, StepRecord } from '../agent/model.js';
import { EventTypes, makeEvent, type EventType, type PlatformEvent } from '../events/model.js';
import { InvalidTransitionError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { CreateInvestigation, Decision, InvestigationDoc } from './model.js';
import { canAssign, transition, type Action } from './state-machine.js';
import type { Mutation } from './store.js';

/**
 * Pure commands on an investigation document: each returns the next document and the events to
 * emit, or throws a 409 when the state machine refuses. No I/O here. Event data is thin and
 * validated against the catalogue (shared/events/catalogue.ts): ids, states and enums, never who
 * did it or any subject value — readers fetch those through the audited API.
 */
function event(type: EventType, doc: InvestigationDoc, now: Date, extra: Record<string, unknown> = {}): PlatformEvent {
  return makeEvent(type, doc.id, { investigation_id: doc.id, status: doc.status, ...extra }, now);
}

function moved(doc: InvestigationDoc, action: Action, actor: string, now: Date, patch: Partial<InvestigationDoc>): InvestigationDoc {
  const result = transition(doc.status, action);
  if (!result.ok) throw new InvalidTransitionError(doc.status, result.verb);
  const at = now.toISOString();
  return {
    ...doc,
    ...patch,
    status: result.to,
    updated_at: at,
    history: [...doc.history, { at, actor, action, from: doc.status, to: result.to }],
  };
}

export function newInvestigation(input: CreateInvestigation, actor: { email: string; team: string | null }, now: Date): Mutation {
  const at = now.toISOString();
  const doc: InvestigationDoc = {
    id: newId('inv', now.getTime()),
    status: 'queued',
    subject: input.subject,
    question: input.question ?? null,
    window_days: input.window_days,
    sensitivity: input.sensitivity,
    created_by: actor.email,
    team: actor.team,
    created_at: at,
    updated_at: at,
    assignee: null,
    steps: [],
    findings: [],
    risk: null,
    recommended_action: null,
    summary: null,
    resolved_accounts: [],
    failure_reason: null,
    decision: null,
    attempts: 0,
    lease: null,
    comments_count: 0,
    history: [{ at, actor: actor.email, action: 'create', from: null, to: 'queued' }],
  };
  return { doc, events: [event(EventTypes.investigationRequested, doc, now, { sensitivity: doc.sensitivity })] };
}

/** A worker takes queued work. Anything else (duplicate delivery, already running) is a no-op. */
export function claim(doc: InvestigationDoc, worker: string, eventId: string, leaseMs: number, now: Date): Mutation | null {
  if (doc.status !== 'queued') return null;
  const next = moved(doc, 'start', worker, now, {
    attempts: doc.attempts + 1,
    lease: { owner: worker, event_id: eventId, expires_at: new Date(now.getTime() + leaseMs).toISOString() },
    steps: [],
    findings: [],
  });
  return { doc: next, events: [event(EventTypes.investigationStarted, next, now, { attempt: next.attempts })] };
}

export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

function holdsLease(doc: InvestigationDoc, worker: string): boolean {
  return doc.status === 'running' && doc.lease?.owner === worker;
}

export function recordStep(doc: InvestigationDoc, worker: string, step: StepRecord, leaseMs: number, now: Date): Mutation {
  if (!holdsLease(doc, worker)) throw new LeaseLostError(`lease on ${doc.id} lost`);
  const next: InvestigationDoc = {
    ...doc,
    steps: [...doc.steps.filter((s) => s.index !== step.index), step],
    lease: { ...doc.lease!, expires_at: new Date(now.getTime() + leaseMs).toISOString() },
    updated_at: now.toISOString(),
  };
  return { doc: next, events: [event(EventTypes.investigationStepCompleted, next, now, { step: step.name, index: step.index, rows: step.rows })] };
}

/**
 * The worker's heartbeat while a step runs: pushes its lease out. Not a visible change (no event,
 * `updated_at` kept, so a reader's ETag stays valid); throws once the lease is someone else's.
 */
export function renew(doc: InvestigationDoc, worker: string, leaseMs: number, now: Date): Mutation {
  if (!holdsLease(doc, worker)) throw new LeaseLostError(`lease on ${doc.id} lost`);
  return { doc: { ...doc, lease: { ...doc.lease!, expires_at: new Date(now.getTime() + leaseMs).toISOString() } }, events: [] };
}

export function complete(doc: InvestigationDoc, worker: string, result: AgentResult, now: Date): Mutation {
  if (!holdsLease(doc, worker)) throw new LeaseLostError(`lease on ${doc.id} lost`);
  const next = moved(doc, 'complete', worker, now, {
    steps: result.steps,
    findings: result.findings,
    risk: result.risk,
    recommended_action: result.recommended_action,
    summary: result.summary,
    resolved_accounts: result.accounts,
    usage_timeline: result.usage_timeline ?? null,
    linked_accounts: result.linked_accounts ?? null,
    plan: result.plan ?? null,
    answers: result.answers ?? null,
    lease: null,
  });
  return {
    doc: next,
    events: [
      event(EventTypes.investigationCompleted, next, now, {
        risk_score: result.risk.score,
        recommended_action: result.recommended_action.action,
        findings: result.findings.length,
        escalate: result.findings.some((f) => f.escalate),
      }),
      ...result.findings.map((f) =>
        makeEvent(EventTypes.findingCreated, next.id, { investigation_id: next.id, finding_id: f.id, finding_type: f.type, severity: f.severity, escalate: f.escalate }, now),
      ),
    ],
  };
}

export function fail(doc: InvestigationDoc, actor: string, reason: string, now: Date, worker?: string): Mutation {
  if (worker && !holdsLease(doc, worker)) throw new LeaseLostError(`lease on ${doc.id} lost`);
  const next = moved(doc, 'fail', actor, now, { failure_reason: reason, lease: null });
  // The reason is free text: readers get it from the API, never from the (thin) event.
  return { doc: next, events: [event(EventTypes.investigationFailed, next, now)] };
}

/** The reconciler's move for work whose worker stopped renewing its lease. */
export function requeue(doc: InvestigationDoc, now: Date): Mutation {
  const next = moved(doc, 'requeue', 'system:reconciler', now, { lease: null });
  return {
    doc: next,
    events: [event(EventTypes.investigationRequeued, next, now, { attempts: doc.attempts }), event(EventTypes.investigationRequested, next, now, { sensitivity: next.sensitivity })],
  };
}

export function cancel(doc: InvestigationDoc, actor: string, now: Date): Mutation {
  const next = moved(doc, 'cancel', actor, now, { lease: null });
  return { doc: next, events: [event(EventTypes.investigationCancelled, next, now)] };
}

export function assign(doc: InvestigationDoc, actor: string, assignee: string, now: Date): Mutation {
  if (!canAssign(doc.status)) throw new InvalidTransitionError(doc.status, 'assigned');
  const at = now.toISOString();
  const next: InvestigationDoc = {
    ...doc,
    assignee,
    updated_at: at,
    history: [...doc.history, { at, actor, action: 'assign', from: doc.status, to: doc.status }],
  };
  return { doc: next, events: [event(EventTypes.investigationAssigned, next, now)] };
}

export function close(doc: InvestigationDoc, actor: string, decision: { decision: Decision; rationale: string }, now: Date): Mutation {
  const next = moved(doc, 'close', actor, now, {
    decision: { outcome: decision.decision, rationale: decision.rationale, closed_by: actor, closed_at: now.toISOString() },
  });
  return { doc: next, events: [event(EventTypes.investigationClosed, next, now, { decision: decision.decision })] };
}

export function reopen(doc: InvestigationDoc, actor: string, now: Date): Mutation {
  const next = moved(doc, 'reopen', actor, now, { decision: null });
  return { doc: next, events: [event(EventTypes.investigationReopened, next, now)] };
}

export function commented(doc: InvestigationDoc, actor: string, commentId: string, now: Date): Mutation {
  const next: InvestigationDoc = { ...doc, comments_count: doc.comments_count + 1, updated_at: now.toISOString() };
  return { doc: next, events: [event(EventTypes.investigationCommented, next, now, { comment_id: commentId })] };
}
