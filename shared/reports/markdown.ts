import { anomalyMarks, sparkline } from './chart.js';
import { formatBytes, formatFreshness, formatNumber, formatParams, mdCode, mdText, percent } from './format.js';
import type { ReportDocument } from './model.js';

/**
 * The report as Markdown (GFM tables), readable in a terminal as it is and safe to paste into a
 * ticket: every value is escaped (mdText) or fenced (mdCode) so stored data cannot add links,
 * images, HTML or table cells.
 */
const t = mdText;
const c = mdCode;

function table(header: string[], rows: string[][]): string[] {
  if (!rows.length) return [];
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map((v) => (v === '' ? ' ' : v)).join(' | ')} |`)];
}

export function renderMarkdown(r: ReportDocument): string {
  const inv = r.investigation;
  const out: string[] = [];
  const push = (...lines: string[]) => out.push(...lines);

  push(`# Investigation report ${c(inv.id)}`, '');
  if (r.notice) push(`> **Note:** ${t(r.notice)}`, '');
  push(
    `- **Subject:** ${t(inv.subject.type)} ${c(inv.subject.value)}${inv.subject.masked ? ' (masked)' : ''}`,
    `- **Status:** ${t(inv.status)}`,
    `- **Sensitivity:** ${t(inv.sensitivity)}`,
    `- **Created by:** ${t(inv.created_by)}${inv.team ? ` (team ${t(inv.team)})` : ''} at ${t(inv.created_at)}`,
    `- **Assignee:** ${inv.assignee ? t(inv.assignee) : '—'}`,
    `- **Window:** ${inv.window_days} days${inv.window ? ` (${t(inv.window.since)} to ${t(inv.window.until)})` : ''}${inv.history_days ? `; history ${inv.history_days} days` : ''}`,
    `- **Planner:** ${t(inv.planner)}`,
    `- **Resolved accounts:** ${inv.resolved_accounts.length ? inv.resolved_accounts.map(c).join(', ') : '—'}`,
  );
  if (inv.question) push(`- **Question:** ${t(inv.question)}`);
  if (inv.decision) {
    push(`- **Decision:** ${t(inv.decision.outcome)} by ${t(inv.decision.closed_by)} at ${t(inv.decision.closed_at)}: ${t(inv.decision.rationale)}`);
  }
  push('');

  push('## Summary', '', r.summary ? t(r.summary) : '_No summary: the investigation did not complete._', '');

  push('## Risk score', '');
  if (r.risk) {
    push(`**${formatNumber(r.risk.score)}/100**`, '');
    push(...table(['Signal', 'Points', 'Detail'], r.risk.contributions.map((x) => [c(x.signal), formatNumber(x.points), t(x.detail)])));
    if (!r.risk.contributions.length) push('No signal contributed.');
  } else push('_Not scored._');
  push('');

  push('## Recommended action', '');
  push(r.recommended_action ? `**${t(r.recommended_action.action)}**: ${t(r.recommended_action.reason)}` : '_None: the investigation did not complete._', '');

  push(`## Findings (${r.findings.length})`, '');
  if (!r.findings.length) push(r.complete ? 'No findings.' : 'No findings: the investigation did not complete.', '');
  r.findings.forEach((f, i) => {
    push(`### ${i + 1}. ${t(f.title)}`, '');
    push(
      `- **Type:** ${c(f.type)}`,
      `- **Severity:** ${t(f.severity)}${f.escalate ? ' — **escalate**' : ''}`,
      `- **Confidence:** ${percent(f.confidence)}`,
      `- **Finding id:** ${c(f.id)}`,
      ...(f.data_as_of ? [`- **Data as of:** ${t(f.data_as_of)}`] : []),
      '',
      t(f.summary),
      '',
    );
    if (f.stale_data) push(`> **Stale data:** ${t(f.stale_data)}`, '');
    push('Evidence:', '');
    push(...table(['Step', 'SQL hash', 'Params', 'Row keys'], f.evidence.map((e) => [c(e.step), c(e.sql_hash), c(formatParams(e.params)), e.row_keys.map(c).join(', ')])), '');
  });

  push('## Usage timeline', '');
  const tl = r.usage_timeline;
  if (!tl) push('_No usage timeline recorded for this investigation._', '');
  else {
    push(`Daily characters synthesised, ${t(tl.since)} to ${t(tl.until)} (UTC); one mark per day, · for none, ▲ under anomaly days.`, '');
    if (!tl.accounts.length) push('No usage in the window.', '');
    for (const a of tl.accounts) {
      const anomalies = a.days.filter((d) => d.anomaly);
      push(`### Account ${c(a.user_id)}`, '');
      push(`${formatNumber(a.total_characters)} characters over ${a.active_days} active days.${anomalies.length ? ` Anomaly days: ${anomalies.map((d) => `${d.date} (${formatNumber(d.characters)})`).join(', ')}.` : ''}`, '');
      push('```text', sparkline(a.days), anomalyMarks(a.days), '```', '');
      push(
        ...table(
          ['Date', 'Characters', 'Requests', 'Anomaly'],
          a.days.filter((d) => d.characters > 0 || d.requests > 0 || d.anomaly).map((d) => [t(d.date), formatNumber(d.characters), formatNumber(d.requests), d.anomaly ? '**yes**' : '']),
        ),
        '',
      );
    }
    if (tl.omitted_days) push(`${tl.omitted_days} more account-days were not kept with the investigation.`, '');
  }

  push('## Linked accounts', '');
  const la = r.linked_accounts;
  if (!la) push('_No linked-accounts data recorded for this investigation._', '');
  else if (!la.items.length) push('No other account shares a card, device or IP address with the resolved accounts.', '');
  else {
    push(
      ...table(
        ['Account', 'Linked account', 'Shared', 'Identifiers', 'Status', 'Created'],
        la.items.map((l) => [c(l.subject_user_id), c(l.linked_user_id), t(l.link_types.join(', ')), formatNumber(l.shared_identifiers), t(l.status), t(l.created_at)]),
      ),
      '',
    );
    if (la.omitted) push(`${la.omitted} more linked accounts were not kept with the investigation.`, '');
  }

  push('## Queries', '');
  push('Every warehouse query the investigation ran, in order. Parameters holding personal data are stored masked; with the SQL hash and the step name the other queries can be re-run.', '');
  push(
    ...table(
      ['#', 'Step', 'Status', 'SQL hash', 'Params', 'Tables', 'Rows', 'Est. bytes', 'Duration', 'Freshness'],
      r.queries.map((q) => [
        String(q.index),
        c(q.name),
        q.error ? `${t(q.status)}: ${t(q.error)}` : t(q.status),
        c(q.sql_hash),
        c(formatParams(q.params)),
        t(q.tables.join(', ')),
        formatNumber(q.rows),
        formatBytes(q.estimated_bytes),
        `${formatNumber(q.duration_ms)} ms`,
        t(formatFreshness(q.freshness)),
      ]),
    ),
  );
  if (!r.queries.length) push('No queries ran.');
  push('');

  push('---', '', `Generated ${t(r.generated_at)} for ${t(r.reader.email)}; personal data ${r.reader.personal_data}. Report format version ${r.report_version}.`, '');
  return out.join('\n');
}
