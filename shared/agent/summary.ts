import type { Finding, RecommendedAction, RiskAssessment, SubjectType } from './model.js';

/**
 * The one-paragraph result an analyst reads first. Built from ids, counts and finding titles only,
 * so it never contains personal data (the subject value itself is never repeated).
 */
const NOT_FOUND: Record<SubjectType, string> = {
  email: 'no account is registered with this email address',
  user_id: 'no account has this user id',
  voice_id: 'no account owns this voice (it is unknown, or a premade voice without an owner)',
  ip: 'no account signed up or logged in from this IP address, or used it for requests in the window',
  card_fingerprint: 'no account paid with this card',
};

export interface SummaryInput {
  subjectType: SubjectType;
  resolved: boolean;
  accounts: string[];
  accountsTruncated: boolean;
  findings: Finding[];
  risk: RiskAssessment;
  action: RecommendedAction;
  windowDays: number;
  historyDays: number;
  failedSteps: string[];
  truncatedSteps: string[];
  stopped: boolean;
  /** Patterns a focused plan did not check (empty for a full plan). */
  unchecked?: string[];
  /** One sentence on how the plan was made, when it is worth saying (LLM planner, or its fallback). */
  planNote?: string;
}

export function summarise(s: SummaryInput): string {
  if (!s.resolved) return `Subject not found: ${NOT_FOUND[s.subjectType]}. Nothing further was investigated.`;
  const parts: string[] = [];
  const ids = s.accounts.length > 10 ? `${s.accounts.slice(0, 10).join(', ')} and ${s.accounts.length - 10} more` : s.accounts.join(', ');
  parts.push(`Resolved to ${s.accounts.length === 1 ? '1 account' : `${s.accounts.length} accounts`} (${ids}).`);
  if (s.accountsTruncated) parts.push(`More accounts matched; only these ${s.accounts.length} were investigated.`);
  if (s.stopped) parts.push('The run was stopped before all steps finished; the result covers only the steps that ran.');
  if (s.failedSteps.length) {
    parts.push(`Incomplete: ${s.failedSteps.join(', ')} failed, so the absence of findings from ${s.failedSteps.length === 1 ? 'that step' : 'those steps'} says nothing.`);
  }
  if (s.truncatedSteps.length) parts.push(`Row limit reached in ${s.truncatedSteps.join(', ')}; findings from ${s.truncatedSteps.length === 1 ? 'it' : 'them'} may be partial.`);
  const unchecked = s.unchecked ?? [];
  if (unchecked.length) parts.push(`Focused on the question: ${unchecked.join(', ')} ${unchecked.length === 1 ? 'was' : 'were'} not checked.`);
  if (!s.findings.length) {
    if (unchecked.length) {
      parts.push('No abuse signals found in the checks that ran; this is not a full review of the account.');
    } else if (!s.failedSteps.length && !s.stopped) {
      parts.push(
        `No abuse signals found: usage over the last ${s.windowDays} days and moderation flags, linked accounts, owned voices and payments over the last ${s.historyDays} days show nothing to report.`,
      );
    } else {
      parts.push('No abuse signals found in the steps that completed.');
    }
  } else {
    const listed = s.findings.map((f) => `[${f.severity}] ${f.title}`).join('; ');
    parts.push(`${s.findings.length === 1 ? '1 finding' : `${s.findings.length} findings`}: ${listed}.`);
    if (s.findings.some((f) => f.escalate)) parts.push('Escalation is required.');
    const stale = s.findings.filter((f) => f.stale).length;
    if (stale) parts.push(`${stale === 1 ? '1 finding rests' : `${stale} findings rest`} on stale data (see the finding).`);
  }
  parts.push(`Risk score ${s.risk.score}/100; recommended action: ${s.action.action}.`);
  if (s.planNote) parts.push(s.planNote);
  return parts.join(' ');
}
