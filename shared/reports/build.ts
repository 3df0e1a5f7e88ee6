import type { StepRecord } from '../agent/model.js';
import { staleTables } from '../agent/staleness.js';
import type { presentInvestigation } from '../investigations/present.js';
import { redactText } from '../platform/redact.js';
import { REPORT_VERSION, type ReportDocument, type ReportTimeline } from './model.js';

/**
 * From the investigation as the reader may see it (presentInvestigation: subject already masked for
 * readers without `investigations.read_pii`) to the report document. Pure: the clock and the reader
 * come in as arguments.
 *
 * Free text written by people (the question, a closing rationale) may name a person; for a reader
 * without PII access emails and IPs in it are masked as well.
 */
export type InvestigationView = ReturnType<typeof presentInvestigation> & {
  /** How the steps were chosen (the agent's PlanInfo), when the view carries it; read defensively. */
  plan?: unknown;
  planner?: unknown;
};

export interface Reader {
  email: string;
  /** Whether the reader may see personal data (`investigations.read_pii`). */
  pii: boolean;
}

const DAY_MS = 86_400_000;

export function buildReport(view: InvestigationView, reader: Reader, generatedAt: Date): ReportDocument {
  const free = (text: string | null | undefined) => (text == null ? null : reader.pii ? text : redactText(text));
  const steps = [...view.steps].sort((a, b) => a.index - b.index);
  const window = usageWindow(view, steps);
  const complete = view.status === 'completed' || view.status === 'closed';
  return {
    report_version: REPORT_VERSION,
    generated_at: generatedAt.toISOString(),
    reader: { email: reader.email, personal_data: reader.pii ? 'shown' : 'masked' },
    investigation: {
      id: view.id,
      status: view.status,
      subject: { type: view.subject.type, value: view.subject.value, masked: view.subject.masked },
      question: free(view.question),
      sensitivity: view.sensitivity,
      created_by: view.created_by,
      team: view.team,
      created_at: view.created_at,
      updated_at: view.updated_at,
      assignee: view.assignee,
      window_days: view.window_days,
      window,
      history_days: historyDays(steps),
      planner: describePlanner(view.plan ?? view.planner),
      resolved_accounts: view.resolved_accounts,
      decision: view.decision ? { ...view.decision, rationale: free(view.decision.rationale) ?? '' } : null,
    },
    complete,
    notice: notice(view),
    summary: view.summary,
    risk: view.risk ? { score: view.risk.score, contributions: view.risk.contributions } : null,
    recommended_action: view.recommended_action,
    findings: view.findings.map((f) => ({
      id: f.id,
      type: f.type,
      severity: f.severity,
      confidence: f.confidence,
      escalate: f.escalate,
      title: f.title,
      summary: f.summary,
      stale_data: staleNote(f.evidence.map((e) => e.step), steps),
      data_as_of: f.data_as_of ?? null,
      evidence: f.evidence.map((e) => ({ step: e.step, sql_hash: e.sql_hash, params: e.params, row_keys: e.row_keys })),
    })),
    usage_timeline: timeline(view, window),
    linked_accounts: view.linked_accounts ? { items: view.linked_accounts.items, omitted: view.linked_accounts.omitted } : null,
    queries: steps.map((s) => ({
      index: s.index,
      name: s.name,
      description: s.description,
      status: s.status,
      sql_hash: s.sql_hash,
      params: s.params,
      tables: s.tables,
      rows: s.rows,
      estimated_bytes: s.estimated_bytes,
      bytes_processed: s.bytes_processed,
      duration_ms: s.duration_ms,
      freshness: s.freshness,
      started_at: s.started_at,
      error: s.error ?? null,
    })),
  };
}

function notice(view: InvestigationView): string | null {
  switch (view.status) {
    case 'failed':
      return `This investigation failed${view.failure_reason ? `: ${view.failure_reason}` : ''}. The report lists the queries that ran; it has no findings, risk score or recommended action.`;
    case 'cancelled':
      return 'This investigation was cancelled before it completed. The report lists the queries that ran; it has no findings, risk score or recommended action.';
    case 'queued':
    case 'running':
      return `This investigation is ${view.status}; the report shows only the steps recorded so far.`;
    default:
      return null;
  }
}

function describePlanner(plan: unknown): string {
  if (typeof plan === 'string' && plan.trim()) return plan.trim();
  if (plan && typeof plan === 'object') {
    const o = plan as Record<string, unknown>;
    const str = (k: string) => (typeof o[k] === 'string' && (o[k] as string).trim() ? (o[k] as string).trim() : null);
    const name = str('planner') ?? str('kind') ?? str('name');
    if (name) {
      const extras = [str('scope') ? `${str('scope')} plan` : null, str('model') ? `model ${str('model')}` : null, str('version') ? `version ${str('version')}` : null].filter(Boolean);
      const fallback = str('fallback_reason');
      return `${name}${extras.length ? ` (${extras.join(', ')})` : ''}${fallback ? `; the LLM plan was not used: ${fallback}` : ''}`;
    }
  }
  return 'deterministic (resolve the subject, then every account step)';
}

function isoParam(params: Record<string, unknown> | undefined, name: string): string | null {
  const v = params?.[name];
  return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : null;
}

function usageWindow(view: InvestigationView, steps: StepRecord[]): { since: string; until: string } | null {
  if (view.usage_timeline) return { since: view.usage_timeline.since, until: view.usage_timeline.until };
  const usage = steps.find((s) => s.name === 'usage_summary');
  const since = isoParam(usage?.params, 'since');
  const until = isoParam(usage?.params, 'until');
  return since && until ? { since, until } : null;
}

function historyDays(steps: StepRecord[]): number | null {
  const history = steps.find((s) => s.name === 'linked_accounts' || s.name === 'moderation_history' || s.name === 'payment_history');
  const since = isoParam(history?.params, 'since');
  const until = isoParam(history?.params, 'until');
  return since && until ? Math.round((Date.parse(until) - Date.parse(since)) / DAY_MS) : null;
}

/**
 * Why the rows behind a finding may be incomplete or old: a step that failed, or a fact table that
 * had stopped filling when the step ran. Staleness is the agent's judgement recorded with the step
 * (`stale_tables`, agent/staleness.ts); for results recorded before it existed it is judged here by
 * the same rule, measured from when the step ran.
 */
export function staleNote(stepNames: string[], steps: StepRecord[]): string | null {
  const notes: string[] = [];
  for (const name of [...new Set(stepNames)]) {
    const record = [...steps].reverse().find((s) => s.name === name);
    if (!record) {
      notes.push(`step ${name} is not among the recorded queries`);
      continue;
    }
    if (record.status === 'failed') {
      notes.push(`step ${name} failed, so its evidence is incomplete`);
      continue;
    }
    const ranAt = new Date(record.started_at);
    for (const table of record.stale_tables ?? staleTables(record.freshness, ranAt)) {
      const latest = record.freshness[table];
      if (!latest) continue;
      const days = Math.floor((ranAt.getTime() - Date.parse(latest)) / DAY_MS);
      notes.push(`${table} had nothing newer than ${latest} when ${name} ran (${days >= 2 ? `${days} days` : `${Math.floor((ranAt.getTime() - Date.parse(latest)) / 3_600_000)} hours`} earlier)`);
    }
  }
  return notes.length ? `Data may be stale or incomplete: ${[...new Set(notes)].join('; ')}.` : null;
}

/** Every calendar day (UTC) the window touches: from the day of `since` to the day before `until` ends. */
export function calendarDays(since: string, until: string, max = 400): string[] {
  const start = Date.parse(since.slice(0, 10));
  const end = Date.parse(new Date(Date.parse(until) - 1).toISOString().slice(0, 10));
  const out: string[] = [];
  for (let t = start; t <= end && out.length < max; t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

function timeline(view: InvestigationView, window: { since: string; until: string } | null): ReportTimeline | null {
  const stored = view.usage_timeline;
  if (!stored || !window) return null;
  const anomalies = new Set(
    view.findings
      .filter((f) => f.type === 'usage_anomaly')
      .flatMap((f) => f.evidence.filter((e) => e.step === 'usage_summary').flatMap((e) => e.row_keys)),
  );
  const days = calendarDays(window.since, window.until);
  return {
    since: window.since,
    until: window.until,
    accounts: stored.accounts.map((a) => {
      const byDate = new Map(a.days.map((d) => [d.date, d]));
      // Days outside the calendar (should not happen) are kept rather than silently dropped.
      const dates = [...new Set([...days, ...a.days.map((d) => d.date)])].sort();
      return {
        user_id: a.user_id,
        days: dates.map((date) => ({
          date,
          characters: byDate.get(date)?.characters ?? 0,
          requests: byDate.get(date)?.requests ?? 0,
          anomaly: anomalies.has(`${a.user_id}|${date}`),
        })),
        total_characters: a.days.reduce((s, d) => s + d.characters, 0),
        active_days: a.days.filter((d) => d.characters > 0 || d.requests > 0).length,
      };
    }),
    omitted_days: stored.omitted_days,
  };
}

