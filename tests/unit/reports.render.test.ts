import { linkedAccountList, usageTimeline } from '../../shared/agent/observations.js';
import { can } from '../../shared/auth/policy.js';
import type { InvestigationDoc } from '../../shared/investigations/model.js';
import { presentInvestigation } from '../../shared/investigations/present.js';
import type { Caller } from '../../shared/platform/http.js';
import { buildReport, calendarDays } from '../../shared/reports/build.js';
import { usageChartSvg } from '../../shared/reports/chart.js';
import { renderHtml } from '../../shared/reports/html.js';
import { renderMarkdown } from '../../shared/reports/markdown.js';
import { ReportDocumentSchema } from '../../shared/reports/model.js';
import { renderReport } from '../../shared/reports/render.js';

const HASH = (c: string) => c.repeat(64);
const HOSTILE = '<script>alert("x")</script>';
const MD_HOSTILE = '[click](https://evil.example/) <img src=x onerror=alert(1)> | `tick` **bold**';

function caller(email: string, roles: string[]): Caller {
  return { email, roles, team: 'trust', via: 'test', can: (p) => can(roles, p) };
}
const analyst = caller('analyst@example.com', ['analyst']);
const lead = caller('lead@example.com', ['lead']);

const SINCE = '2026-01-01T09:30:00.000Z';
const UNTIL = '2026-01-31T09:30:00.000Z';
const DAYS = calendarDays(SINCE, UNTIL);

function usageRows() {
  // Active every other day at ~1,000 characters, one spike on 2026-01-20.
  return DAYS.filter((_, i) => i % 2 === 0 || DAYS[i] === '2026-01-20').map((date) => ({
    user_id: 'usr_spiky',
    usage_date: date,
    requests: 10,
    characters: date === '2026-01-20' ? 250_000 : 1_000,
    api_requests: 0,
    voices: 1,
    max_moderation_score: null,
  }));
}

function doc(over: Partial<InvestigationDoc> = {}): InvestigationDoc {
  const step = (index: number, name: string, params: Record<string, unknown>, freshness: Record<string, string | null>, extra: Record<string, unknown> = {}) => ({
    index,
    name,
    description: `${name} description`,
    params,
    status: 'ok' as const,
    rows: 3,
    estimated_bytes: 2048,
    bytes_processed: null,
    duration_ms: 12,
    sql_hash: HASH(String(index)),
    tables: Object.keys(freshness),
    freshness,
    started_at: UNTIL,
    ...extra,
  });
  return {
    id: 'inv_01TEST',
    status: 'completed',
    subject: { type: 'email', value: 'spiky.user@example.com' },
    question: `Why did spiky.user@example.com spike? ${HOSTILE}`,
    window_days: 30,
    sensitivity: 'standard',
    created_by: 'analyst@example.com',
    team: 'trust',
    created_at: '2026-01-31T09:29:00.000Z',
    updated_at: '2026-01-31T09:31:00.000Z',
    assignee: null,
    steps: [
      step(1, 'resolve_email', { email: 's***@example.com' }, { dim_users: '2026-01-30T00:00:00.000Z' }),
      step(2, 'usage_summary', { user_ids: ['usr_spiky'], since: SINCE, until: UNTIL }, { fct_tts_usage: '2026-01-31T09:00:00.000Z' }),
      // The linked-accounts step read logins whose newest partition is 10 days old: stale.
      step(3, 'linked_accounts', { user_ids: ['usr_spiky'], since: '2025-01-31T09:30:00.000Z', until: UNTIL }, { fct_logins: '2026-01-21T00:00:00.000Z', fct_payments: '2026-01-31T08:00:00.000Z' }),
      step(4, 'payment_history', { user_ids: ['usr_spiky'], since: '2025-01-31T09:30:00.000Z', until: UNTIL }, { fct_payments: null }, { status: 'failed', rows: 0, error: `warehouse said ${HOSTILE}` }),
    ],
    findings: [
      {
        id: 'fnd_usage',
        type: 'usage_anomaly',
        severity: 'high',
        title: 'Usage spike: 250x the account\'s usual daily volume',
        summary: 'Account usr_spiky synthesised far more than its own baseline on 1 day: 2026-01-20: 250,000 characters (250x).',
        confidence: 0.8,
        escalate: false,
        evidence: [{ step: 'usage_summary', sql_hash: HASH('2'), params: { user_ids: ['usr_spiky'], since: SINCE, until: UNTIL }, row_keys: ['usr_spiky|2026-01-20'] }],
      },
      {
        id: 'fnd_linked',
        type: 'linked_accounts',
        severity: 'high',
        title: `Linked to 1 banned account ${HOSTILE}`,
        summary: `Account usr_spiky shares a payment card with 1 other account (usr_banned): 1 banned. ${MD_HOSTILE}`,
        confidence: 0.9,
        escalate: false,
        evidence: [{ step: 'linked_accounts', sql_hash: HASH('3'), params: { user_ids: ['usr_spiky'] }, row_keys: ['usr_spiky|usr_banned|card'] }],
      },
    ],
    risk: { score: 72, contributions: [{ signal: 'usage_spike', points: 25, detail: 'usr_spiky: 250x baseline on 2026-01-20' }, { signal: 'linked_banned_or_suspended', points: 47, detail: 'usr_spiky ↔ usr_banned' }] },
    recommended_action: { action: 'suspend', reason: 'Risk score 72 (≥55).' },
    summary: 'Resolved to 1 account (usr_spiky). 2 findings.',
    resolved_accounts: ['usr_spiky'],
    usage_timeline: usageTimeline(usageRows(), SINCE, UNTIL),
    linked_accounts: linkedAccountList([
      { subject_user_id: 'usr_spiky', linked_user_id: 'usr_banned', link_type: 'card', shared_identifiers: 1, linked_status: 'banned', linked_created_at: '2025-06-01T00:00:00.000Z' },
      { subject_user_id: 'usr_spiky', linked_user_id: 'usr_banned', link_type: 'ip', shared_identifiers: 2, linked_status: 'banned', linked_created_at: '2025-06-01T00:00:00.000Z' },
      { subject_user_id: 'usr_spiky', linked_user_id: 'usr_other', link_type: 'device', shared_identifiers: 1, linked_status: HOSTILE, linked_created_at: '2025-07-01T00:00:00.000Z' },
    ]),
    failure_reason: null,
    decision: null,
    attempts: 1,
    lease: null,
    comments_count: 0,
    history: [],
    ...over,
  };
}

const NOW = new Date('2026-02-01T12:00:00.000Z');
const reportFor = (who: Caller, d = doc()) => buildReport(presentInvestigation(d, who), { email: who.email, pii: who.can('investigations.read_pii') }, NOW);

describe('report document', () => {
  it('holds every section in a shape the published schema accepts', () => {
    const r = reportFor(analyst);
    expect(ReportDocumentSchema.parse(r)).toEqual(r);
    expect(r.investigation).toMatchObject({ id: 'inv_01TEST', status: 'completed', created_by: 'analyst@example.com', window_days: 30, window: { since: SINCE, until: UNTIL }, history_days: 365 });
    expect(r.investigation.planner).toMatch(/deterministic/);
    expect(r.complete).toBe(true);
    expect(r.risk?.contributions).toHaveLength(2);
    expect(r.recommended_action?.action).toBe('suspend');
    expect(r.findings.map((f) => f.id)).toEqual(['fnd_usage', 'fnd_linked']);
    expect(r.queries.map((q) => q.name)).toEqual(['resolve_email', 'usage_summary', 'linked_accounts', 'payment_history']);
    expect(r.linked_accounts?.items).toEqual([
      expect.objectContaining({ linked_user_id: 'usr_banned', link_types: ['card', 'ip'], shared_identifiers: 3, status: 'banned' }),
      expect.objectContaining({ linked_user_id: 'usr_other', link_types: ['device'] }),
    ]);
    expect(r.generated_at).toBe(NOW.toISOString());
    expect(r.reader).toEqual({ email: 'analyst@example.com', personal_data: 'masked' });
  });

  it('has one timeline point per calendar day of the window, with inactive days as 0 and the anomaly day marked', () => {
    const days = reportFor(analyst).usage_timeline!.accounts[0]!.days;
    expect(days.map((d) => d.date)).toEqual(DAYS);
    expect(DAYS).toHaveLength(31); // a 30-day window that starts mid-morning touches 31 dates
    expect(days.filter((d) => d.anomaly).map((d) => d.date)).toEqual(['2026-01-20']);
    expect(days.find((d) => d.date === '2026-01-02')).toEqual({ date: '2026-01-02', characters: 0, requests: 0, anomaly: false });
  });

  it('notes stale or incomplete data behind a finding', () => {
    const r = reportFor(analyst);
    expect(r.findings[0]!.stale_data).toBeNull();
    expect(r.findings[1]!.stale_data).toMatch(/fct_logins had nothing newer than 2026-01-21T00:00:00.000Z when linked_accounts ran \(10 days earlier\)/);
    // A table with no row in the range says something about the subject, not the pipeline.
    expect(r.findings[1]!.stale_data).not.toMatch(/fct_payments/);
  });

  it('follows the staleness the agent recorded with the step when there is one', () => {
    const d = doc();
    d.steps = d.steps.map((s) => (s.name === 'linked_accounts' ? { ...s, stale_tables: [] } : s.name === 'usage_summary' ? { ...s, stale_tables: ['fct_tts_usage'] } : s));
    d.findings = d.findings.map((f) => (f.type === 'usage_anomaly' ? { ...f, stale: true, data_as_of: '2026-01-31T09:00:00.000Z' } : f));
    const r = reportFor(analyst, d);
    expect(r.findings[0]).toMatchObject({ stale_data: expect.stringMatching(/fct_tts_usage had nothing newer than 2026-01-31T09:00:00.000Z/), data_as_of: '2026-01-31T09:00:00.000Z' });
    expect(r.findings[1]!.stale_data).toBeNull();
    expect(renderMarkdown(r)).toContain('**Data as of:** 2026-01-31T09:00:00.000Z');
  });

  it('masks personal data for a reader without read_pii and shows it to a lead', () => {
    const masked = reportFor(analyst);
    expect(masked.investigation.subject).toEqual({ type: 'email', value: 's***@example.com', masked: true });
    expect(masked.investigation.question).not.toContain('spiky.user@example.com');
    for (const text of [JSON.stringify(masked), renderMarkdown(masked), renderHtml(masked)]) expect(text).not.toContain('spiky.user@example.com');

    const shown = reportFor(lead);
    expect(shown.investigation.subject).toEqual({ type: 'email', value: 'spiky.user@example.com', masked: false });
    expect(shown.reader.personal_data).toBe('shown');
    expect(renderMarkdown(shown)).toContain('spiky.user@example.com');
    expect(renderHtml(shown)).toContain('spiky.user@example.com');
    // Stored step parameters stay masked whoever reads them.
    expect(shown.queries[0]!.params).toEqual({ email: 's***@example.com' });
  });

  it('marks a failed investigation as incomplete and still lists its queries', () => {
    const r = reportFor(analyst, doc({ status: 'failed', failure_reason: 'Resolving the subject failed.', findings: [], risk: null, recommended_action: null, summary: null }));
    expect(r.complete).toBe(false);
    expect(r.notice).toMatch(/failed: Resolving the subject failed/);
    expect(r.queries).toHaveLength(4);
    expect(renderMarkdown(r)).toMatch(/did not complete/);
  });
});

describe('Markdown report', () => {
  const md = renderMarkdown(reportFor(analyst));

  it('contains every section', () => {
    for (const heading of ['# Investigation report', '## Summary', '## Risk score', '## Recommended action', '## Findings (2)', '## Usage timeline', '## Linked accounts', '## Queries']) {
      expect(md).toContain(heading);
    }
    expect(md).toMatch(/\*\*Planner:\*\* deterministic/);
    expect(md).toContain('| Step | SQL hash | Params | Row keys |');
    expect(md).toContain(HASH('3'));
    expect(md).toMatch(/Stale data:/);
    expect(md).toMatch(/Anomaly days: 2026-01-20 \(250,000\)/);
    expect(md).toContain('▲');
    expect(md).toMatch(/Generated 2026-02-01T12:00:00.000Z for analyst@example.com; personal data masked/);
  });

  it('cannot be turned into links, images, HTML or extra table cells by stored values', () => {
    // Every < [ ] of a stored value is backslash-escaped, so none opens a tag or a link.
    expect(md).not.toMatch(/(?<!\\)<(script|img)/);
    expect(md).not.toMatch(/(?<!\\)\]\(https:\/\/evil/);
    expect(md).toContain('\\[click\\]');
    expect(md).toContain('\\<img src=x onerror=alert(1)\\>');
    // The linked account with a hostile status still has exactly the table's 6 cells.
    const row = md.split('\n').find((l) => l.includes('usr_other'))!;
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(6);
  });

  it('removes terminal control sequences from stored values', () => {
    const r = reportFor(analyst, doc({ summary: 'ok \x1b[2J\x1b]0;pwned\x07 done' }));
    expect(renderMarkdown(r)).not.toContain('\x1b');
  });
});

describe('HTML report', () => {
  const page = renderHtml(reportFor(analyst));

  it('contains every section and the usage chart', () => {
    for (const id of ['summary', 'risk', 'action', 'findings', 'usage', 'linked', 'queries']) expect(page).toContain(`<section id="${id}">`);
    expect(page).toMatch(/<dt>Planner<\/dt><dd>deterministic/);
    expect(page).toContain('<caption>Evidence</caption>');
    expect(page).toContain('<caption>Contributions to the risk score</caption>');
    expect(page).toMatch(/<footer>Generated 2026-02-01T12:00:00.000Z for analyst@example.com; personal data masked/);
    const svg = page.slice(page.indexOf('<svg'), page.indexOf('</svg>'));
    expect(svg).toContain('role="img"');
    expect(svg).toMatch(/<title id="usage-1-title">Daily characters for account usr_spiky<\/title>/);
    expect(svg).toMatch(/<desc id="usage-1-desc">[^<]*Anomaly day: 2026-01-20 \(250,000\)/);
    expect(svg).toContain('Date (UTC)');
    expect(svg).toContain('Characters per day');
    expect(svg.match(/<circle class="point/g)).toHaveLength(DAYS.length);
    expect(svg.match(/<circle class="point anomaly" data-date="2026-01-20"/g)).toHaveLength(1);
  });

  it('escapes every hostile value and loads nothing from outside', () => {
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page).not.toMatch(/<[a-z][^<>]*\s(src|href)=/i);
    expect(page).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;sha256-/);
  });

  it('is served with a strict Content-Security-Policy and the right content types', () => {
    const r = reportFor(analyst);
    const html = renderReport(r, 'html');
    expect(html.contentType).toBe('text/html; charset=utf-8');
    expect(html.headers['Content-Security-Policy']).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/);
    expect(html.headers['Content-Security-Policy']).not.toContain('unsafe');
    expect(renderReport(r, 'md').contentType).toBe('text/markdown; charset=utf-8');
    const json = renderReport(r, 'json');
    expect(json.contentType).toBe('application/json; charset=utf-8');
    expect(JSON.parse(json.text)).toEqual(r);
  });
});

describe('usage chart', () => {
  it('draws a point per day even for an empty or single-day series', () => {
    expect(usageChartSvg({ id: 'x', title: 't', days: [] })).toContain('No days in the window.');
    const one = usageChartSvg({ id: 'x', title: 't', days: [{ date: '2026-01-01', characters: 5, requests: 1, anomaly: false }] });
    expect(one.match(/<circle class="point/g)).toHaveLength(1);
  });

  it('keeps hostile titles and ids out of the markup', () => {
    const svg = usageChartSvg({ id: '"><script>', title: HOSTILE, days: [] });
    expect(svg).not.toContain('<script');
    expect(svg).toContain('id="___script_-title"');
  });
});

describe('stored observations', () => {
  it('merges link types per linked account and puts banned and suspended accounts first', () => {
    const list = linkedAccountList([
      { subject_user_id: 'a', linked_user_id: 'z_active', link_type: 'ip', shared_identifiers: 1, linked_status: 'active', linked_created_at: '2025-01-01T00:00:00.000Z' },
      { subject_user_id: 'a', linked_user_id: 'y_banned', link_type: 'ip', shared_identifiers: 1, linked_status: 'banned', linked_created_at: '2025-01-01T00:00:00.000Z' },
      { subject_user_id: 'a', linked_user_id: 'y_banned', link_type: 'card', shared_identifiers: 1, linked_status: 'banned', linked_created_at: '2025-01-01T00:00:00.000Z' },
    ]);
    expect(list.items.map((i) => [i.linked_user_id, i.link_types])).toEqual([
      ['y_banned', ['card', 'ip']],
      ['z_active', ['ip']],
    ]);
    expect(list.omitted).toBe(0);
  });

  it('bounds the stored timeline and says how much it left out', () => {
    const rows = Array.from({ length: 4100 }, (_, i) => ({ user_id: `u${String(Math.floor(i / 100)).padStart(2, '0')}`, usage_date: `2026-01-${String((i % 28) + 1).padStart(2, '0')}`, requests: 1, characters: 1, api_requests: 0, voices: 1, max_moderation_score: null }));
    const tl = usageTimeline(rows, SINCE, UNTIL);
    expect(tl.accounts.reduce((s, a) => s + a.days.length, 0)).toBe(4000);
    expect(tl.omitted_days).toBe(100);
  });
});
