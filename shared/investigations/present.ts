import type { Caller } from '../platform/http.js';
import { maskSubjectValue, type CommentDoc, type InvestigationDoc } from './model.js';

/**
 * What callers see. Personal data in the subject is masked unless the caller may read it;
 * internal fields (lease, history) stay inside.
 */
export function canReadPii(caller: Caller): boolean {
  return caller.can('investigations.read_pii');
}

export function presentInvestigation(doc: InvestigationDoc, caller: Caller) {
  const pii = canReadPii(caller);
  return {
    id: doc.id,
    status: doc.status,
    subject: { type: doc.subject.type, value: pii ? doc.subject.value : maskSubjectValue(doc.subject.type, doc.subject.value), masked: !pii },
    question: doc.question,
    window_days: doc.window_days,
    sensitivity: doc.sensitivity,
    created_by: doc.created_by,
    team: doc.team,
    created_at: doc.created_at,
    updated_at: doc.updated_at,
    assignee: doc.assignee,
    steps: doc.steps,
    findings: doc.findings,
    risk: doc.risk,
    risk_score: doc.risk?.score ?? null,
    recommended_action: doc.recommended_action,
    summary: doc.summary,
    resolved_accounts: doc.resolved_accounts,
    failure_reason: doc.failure_reason,
    decision: doc.decision,
    attempts: doc.attempts,
    comments_count: doc.comments_count,
  };
}

export function presentSummary(doc: InvestigationDoc, caller: Caller) {
  const pii = canReadPii(caller);
  return {
    id: doc.id,
    status: doc.status,
    subject: { type: doc.subject.type, value: pii ? doc.subject.value : maskSubjectValue(doc.subject.type, doc.subject.value), masked: !pii },
    sensitivity: doc.sensitivity,
    created_by: doc.created_by,
    created_at: doc.created_at,
    updated_at: doc.updated_at,
    assignee: doc.assignee,
    risk_score: doc.risk?.score ?? null,
    recommended_action: doc.recommended_action?.action ?? null,
    findings_count: doc.findings.length,
  };
}

export function presentComment(c: CommentDoc) {
  return c;
}
