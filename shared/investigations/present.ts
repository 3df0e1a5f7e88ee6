import type { Caller } from '../platform/http.js';
import { redactText } from '../platform/redact.js';
import { isSealedSubject, maskSubjectValue, type CommentDoc, type InvestigationDoc } from './model.js';
import { ERASED } from './pii.js';

/**
 * What callers see. Personal data in the subject is masked unless the caller may read it;
 * internal fields (lease, history) stay inside.
 */
export function canReadPii(caller: Caller): boolean {
  return caller.can('investigations.read_pii');
}

/**
 * A stored (sealed) subject shows its masked display form; a revealed one (the store decrypted it
 * for a reader of personal data) its value; an erased one "[erased]".
 */
function subjectView(doc: Pick<InvestigationDoc, 'subject'>, pii: boolean): { type: InvestigationDoc['subject']['type']; value: string; masked: boolean; erased?: true } {
  const s = doc.subject;
  if (isSealedSubject(s)) return { type: s.type, value: s.display, masked: true };
  if (s.erased) return { type: s.type, value: ERASED, masked: false, erased: true };
  return { type: s.type, value: pii ? s.value : maskSubjectValue(s.type, s.value), masked: !pii };
}

export function presentInvestigation(doc: InvestigationDoc, caller: Caller) {
  const pii = canReadPii(caller);
  return {
    id: doc.id,
    status: doc.status,
    subject: subjectView(doc, pii),
    // The question often names the subject: in clear only for readers of personal data.
    question: doc.question === null ? null : pii ? doc.question : redactText(doc.question),
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
    usage_timeline: doc.usage_timeline ?? null,
    linked_accounts: doc.linked_accounts ?? null,
    plan: doc.plan ?? null,
    answers: doc.answers ?? null,
    failure_reason: doc.failure_reason,
    decision: doc.decision,
    attempts: doc.attempts,
    comments_count: doc.comments_count,
  };
}

export function presentSummary(
  doc: Pick<InvestigationDoc, 'id' | 'status' | 'subject' | 'sensitivity' | 'created_by' | 'created_at' | 'updated_at' | 'assignee'> & {
    risk: { score: number } | null;
    recommended_action: Pick<NonNullable<InvestigationDoc['recommended_action']>, 'action'> | null;
    findings_count: number;
  },
  caller: Caller,
) {
  const pii = canReadPii(caller);
  return {
    id: doc.id,
    status: doc.status,
    subject: subjectView(doc, pii),
    sensitivity: doc.sensitivity,
    created_by: doc.created_by,
    created_at: doc.created_at,
    updated_at: doc.updated_at,
    assignee: doc.assignee,
    risk_score: doc.risk?.score ?? null,
    recommended_action: doc.recommended_action?.action ?? null,
    findings_count: doc.findings_count,
  };
}

export function presentComment(c: CommentDoc) {
  return c;
}
