import { createHash } from 'node:crypto';
import { usageChartSvg } from './chart.js';
import { formatBytes, formatFreshness, formatNumber, formatParams, html as h, percent } from './format.js';
import type { ReportDocument } from './model.js';

/**
 * The report as one self-contained HTML page: no scripts, no external assets, one inline style
 * block allowed by its hash. Every interpolated value goes through `h` (format.ts). The same policy
 * is sent as a header by the API and embedded as a meta tag so a saved copy stays locked down.
 */
const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#24292f;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.25rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.25rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem;width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;word-break:break-all}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
.notice{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem 1rem;border-radius:6px}
.stale{background:#fff8c5;border-left:4px solid #d4a72c;padding:.25rem .75rem}
.sev-critical,.sev-high{color:#cf222e;font-weight:600}.sev-medium{color:#9a6700;font-weight:600}
.finding{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.score{font-size:2rem;font-weight:700}
svg.usage-chart{max-width:100%;height:auto;border:1px solid #d0d7de}
footer{margin-top:3rem;color:#57606a;font-size:.85rem;border-top:1px solid #d0d7de;padding-top:.5rem}
`;

const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

/** For the HTTP header; `frame-ancestors` only works there, not in a meta tag. */
export const REPORT_CSP = `default-src 'none'; style-src '${STYLE_HASH}'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
const META_CSP = `default-src 'none'; style-src '${STYLE_HASH}'; img-src 'none'; base-uri 'none'; form-action 'none'`;

const code = (v: unknown) => `<code>${h(v)}</code>`;
const num = (v: string) => `<td class="num">${v}</td>`;

function table(header: string[], rows: string[][], caption?: string): string {
  if (!rows.length) return '';
  return [
    '<table>',
    caption ? `<caption>${h(caption)}</caption>` : '',
    `<thead><tr>${header.map((x) => `<th scope="col">${h(x)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((cell) => (cell.startsWith('<td') ? cell : `<td>${cell}</td>`)).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

export function renderHtml(r: ReportDocument): string {
  const inv = r.investigation;
  const parts: string[] = [];
  const add = (...s: string[]) => parts.push(...s);

  add(
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${h(META_CSP)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Investigation report ${h(inv.id)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>Investigation report ${code(inv.id)}</h1>`,
  );
  if (r.notice) add(`<p class="notice" role="note">${h(r.notice)}</p>`);
  const meta: [string, string][] = [
    ['Subject', `${h(inv.subject.type)} ${code(inv.subject.value)}${inv.subject.masked ? ' (masked)' : ''}`],
    ['Status', h(inv.status)],
    ['Sensitivity', h(inv.sensitivity)],
    ['Created by', `${h(inv.created_by)}${inv.team ? ` (team ${h(inv.team)})` : ''} at ${h(inv.created_at)}`],
    ['Assignee', inv.assignee ? h(inv.assignee) : '—'],
    ['Window', `${h(inv.window_days)} days${inv.window ? ` (${h(inv.window.since)} to ${h(inv.window.until)})` : ''}${inv.history_days ? `; history ${h(inv.history_days)} days` : ''}`],
    ['Planner', h(inv.planner)],
    ['Resolved accounts', inv.resolved_accounts.length ? inv.resolved_accounts.map(code).join(', ') : '—'],
  ];
  if (inv.question) meta.push(['Question', h(inv.question)]);
  if (inv.decision) meta.push(['Decision', `${h(inv.decision.outcome)} by ${h(inv.decision.closed_by)} at ${h(inv.decision.closed_at)}: ${h(inv.decision.rationale)}`]);
  add('<dl class="meta">', ...meta.map(([k, v]) => `<dt>${h(k)}</dt><dd>${v}</dd>`), '</dl>', '</header>', '<main>');

  add('<section id="summary"><h2>Summary</h2>', `<p>${r.summary ? h(r.summary) : '<em>No summary: the investigation did not complete.</em>'}</p></section>`);

  add('<section id="risk"><h2>Risk score</h2>');
  if (r.risk) {
    add(`<p><span class="score">${h(formatNumber(r.risk.score))}</span>/100</p>`);
    add(table(['Signal', 'Points', 'Detail'], r.risk.contributions.map((x) => [code(x.signal), num(h(formatNumber(x.points))), h(x.detail)]), 'Contributions to the risk score'));
    if (!r.risk.contributions.length) add('<p>No signal contributed.</p>');
  } else add('<p><em>Not scored.</em></p>');
  add('</section>');

  add('<section id="action"><h2>Recommended action</h2>');
  add(r.recommended_action ? `<p><strong>${h(r.recommended_action.action)}</strong>: ${h(r.recommended_action.reason)}</p>` : '<p><em>None: the investigation did not complete.</em></p>');
  add('</section>');

  add(`<section id="findings"><h2>Findings (${r.findings.length})</h2>`);
  if (!r.findings.length) add(`<p>${r.complete ? 'No findings.' : 'No findings: the investigation did not complete.'}</p>`);
  r.findings.forEach((f, i) => {
    add(
      '<article class="finding">',
      `<h3>${i + 1}. ${h(f.title)}</h3>`,
      '<dl class="meta">',
      `<dt>Type</dt><dd>${code(f.type)}</dd>`,
      `<dt>Severity</dt><dd><span class="sev-${h(f.severity)}">${h(f.severity)}</span>${f.escalate ? ' — <strong>escalate</strong>' : ''}</dd>`,
      `<dt>Confidence</dt><dd>${h(percent(f.confidence))}</dd>`,
      `<dt>Finding id</dt><dd>${code(f.id)}</dd>`,
      f.data_as_of ? `<dt>Data as of</dt><dd>${h(f.data_as_of)}</dd>` : '',
      '</dl>',
      `<p>${h(f.summary)}</p>`,
    );
    if (f.stale_data) add(`<p class="stale" role="note"><strong>Stale data:</strong> ${h(f.stale_data)}</p>`);
    add(
      table(
        ['Step', 'SQL hash', 'Params', 'Row keys'],
        f.evidence.map((e) => [code(e.step), code(e.sql_hash), code(formatParams(e.params)), e.row_keys.map(code).join(', ')]),
        'Evidence',
      ),
      '</article>',
    );
  });
  add('</section>');

  add('<section id="usage"><h2>Usage timeline</h2>');
  const tl = r.usage_timeline;
  if (!tl) add('<p><em>No usage timeline recorded for this investigation.</em></p>');
  else {
    add(`<p>Daily characters synthesised from ${h(tl.since)} to ${h(tl.until)} (UTC). Anomaly days are marked in red.</p>`);
    if (!tl.accounts.length) add('<p>No usage in the window.</p>');
    tl.accounts.forEach((a, i) => {
      add(
        `<figure><figcaption>Account ${code(a.user_id)}: ${h(formatNumber(a.total_characters))} characters over ${h(a.active_days)} active days</figcaption>`,
        usageChartSvg({ id: `usage-${i + 1}`, title: `Daily characters for account ${a.user_id}`, days: a.days }),
        '</figure>',
        '<details><summary>Daily values</summary>',
        table(
          ['Date', 'Characters', 'Requests', 'Anomaly'],
          a.days.map((d) => [h(d.date), num(h(formatNumber(d.characters))), num(h(formatNumber(d.requests))), d.anomaly ? '<strong>yes</strong>' : '']),
        ),
        '</details>',
      );
    });
    if (tl.omitted_days) add(`<p>${h(tl.omitted_days)} more account-days were not kept with the investigation.</p>`);
  }
  add('</section>');

  add('<section id="linked"><h2>Linked accounts</h2>');
  const la = r.linked_accounts;
  if (!la) add('<p><em>No linked-accounts data recorded for this investigation.</em></p>');
  else if (!la.items.length) add('<p>No other account shares a card, device or IP address with the resolved accounts.</p>');
  else {
    add(
      table(
        ['Account', 'Linked account', 'Shared', 'Identifiers', 'Status', 'Created'],
        la.items.map((l) => [code(l.subject_user_id), code(l.linked_user_id), h(l.link_types.join(', ')), num(h(formatNumber(l.shared_identifiers))), h(l.status), h(l.created_at)]),
      ),
    );
    if (la.omitted) add(`<p>${h(la.omitted)} more linked accounts were not kept with the investigation.</p>`);
  }
  add('</section>');

  add('<section id="queries"><h2>Queries</h2>');
  add('<p>Every warehouse query the investigation ran, in order. Parameters holding personal data are stored masked; with the SQL hash and the step name the other queries can be re-run.</p>');
  add(
    table(
      ['#', 'Step', 'Status', 'SQL hash', 'Params', 'Tables', 'Rows', 'Est. bytes', 'Duration', 'Freshness'],
      r.queries.map((q) => [
        num(h(q.index)),
        `${code(q.name)}<br>${h(q.description)}`,
        q.error ? `${h(q.status)}: ${h(q.error)}` : h(q.status),
        code(q.sql_hash),
        code(formatParams(q.params)),
        h(q.tables.join(', ')),
        num(h(formatNumber(q.rows))),
        num(h(formatBytes(q.estimated_bytes))),
        num(h(`${formatNumber(q.duration_ms)} ms`)),
        h(formatFreshness(q.freshness)),
      ]),
    ),
  );
  if (!r.queries.length) add('<p>No queries ran.</p>');
  add('</section>', '</main>');

  add(
    `<footer>Generated ${h(r.generated_at)} for ${h(r.reader.email)}; personal data ${h(r.reader.personal_data)}. Report format version ${h(r.report_version)}.</footer>`,
    '</body>',
    '</html>',
    '',
  );
  return parts.filter((p) => p !== '').join('\n');
}
