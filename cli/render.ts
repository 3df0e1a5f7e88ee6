import type { Finding, Investigation, InvestigationSummary, ProblemBody, Step } from './schemas.js';

/**
 * Human-readable output, pure: data and a Style in, text out. Everything that came from the server is
 * passed through `clean` so a hostile value cannot drive the terminal with escape sequences.
 */

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const identity = (s: string) => s;

export function createStyle(colour: boolean): Style {
  if (!colour) return { bold: identity, dim: identity, red: identity, green: identity, yellow: identity, cyan: identity };
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39) };
}

/** Colour only on a terminal, and never when NO_COLOR is set to anything (https://no-color.org). */
export function useColour(isTTY: boolean | undefined, env: Record<string, string | undefined>): boolean {
  return isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/** Removes control characters (ANSI escapes, carriage returns) from server-supplied text; keeps newlines and tabs. */
export function clean(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '');
}

/** Binary units, as BigQuery bills them. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (unit < units.length - 1 && Number(value.toFixed(value < 10 ? 1 : 0)) >= 1024) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** ISO timestamps to the second, in UTC, so output does not depend on the reader's time zone. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return clean(iso);
  return date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function formatCount(n: number | null | undefined, one: string, many: string): string {
  if (n === null || n === undefined) return `— ${many}`;
  return `${n} ${n === 1 ? one : many}`;
}

export function paintStatus(status: string, style: Style): string {
  const text = clean(status);
  switch (status) {
    case 'completed':
      return style.green(text);
    case 'failed':
      return style.red(text);
    case 'cancelled':
    case 'skipped':
      return style.yellow(text);
    case 'queued':
    case 'running':
    case 'pending':
      return style.cyan(text);
    default:
      return text;
  }
}

function paintSeverity(severity: string, style: Style): string {
  const text = clean(severity).toUpperCase();
  const s = severity.toLowerCase();
  if (s === 'critical' || s === 'high') return style.bold(style.red(text));
  if (s === 'medium') return style.yellow(text);
  if (s === 'low' || s === 'info') return style.dim(text);
  return text;
}

function stepError(step: Step): string | null {
  const error = step.error;
  if (error === null || error === undefined) return null;
  if (typeof error === 'string') return clean(error);
  return clean(error.message ?? JSON.stringify(error));
}

function stepTitle(step: Step): string {
  return clean(step.description ?? step.name ?? `step ${step.index}`);
}

/** One progress line per finished step, for `tsi investigate`. */
export function renderStepLine(step: Step, style: Style): string {
  const parts = [
    formatCount(step.rows, 'row', 'rows'),
    `est. ${formatBytes(step.estimated_bytes)}`,
    step.duration_ms === null || step.duration_ms === undefined ? '— ms' : `${Math.round(step.duration_ms)} ms`,
    paintStatus(step.status, style),
  ];
  const error = stepError(step);
  return `  ${style.dim(`${step.index}.`)} ${stepTitle(step)}  ${style.dim('·')} ${parts.join(` ${style.dim('·')} `)}${error ? `: ${style.red(error)}` : ''}`;
}

export function renderStatusLine(status: string, style: Style): string {
  return `${style.dim('…')} ${paintStatus(status, style)}`;
}

type Cell = string | { text: string; paint?: (s: string) => string };

/** Aligns columns on the visible text, then paints; no trailing spaces after the last column. */
export function renderTable(headers: string[], rows: Cell[][], style: Style, rightAligned: ReadonlySet<number> = new Set(), indent = '  '): string[] {
  const cell = (c: Cell) => (typeof c === 'string' ? { text: c, paint: identity } : { text: c.text, paint: c.paint ?? identity });
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => cell(r[i] ?? '').text.length)));
  const line = (cells: { text: string; paint: (s: string) => string }[]) =>
    indent +
    cells
      .map((c, i) => {
        const last = i === cells.length - 1;
        const width = widths[i] ?? 0;
        const padded = rightAligned.has(i) ? c.text.padStart(width) : last ? c.text : c.text.padEnd(width);
        return c.paint(padded);
      })
      .join('  ');
  return [line(headers.map((h) => ({ text: h, paint: style.dim }))), ...rows.map((r) => line(headers.map((_, i) => cell(r[i] ?? ''))))];
}

function indentLines(text: string, indent: string): string[] {
  return clean(text)
    .split('\n')
    .map((l) => indent + l);
}

function evidenceCounts(finding: Finding): string {
  const evidence = finding.evidence ?? [];
  const rows = evidence.reduce((sum, e) => sum + (e.row_keys?.length ?? 0), 0);
  const steps = new Set(evidence.map((e) => e.step).filter((s) => s !== undefined)).size;
  return `evidence: ${formatCount(evidence.length, 'citation', 'citations')} from ${formatCount(steps, 'step', 'steps')}, ${formatCount(rows, 'row', 'rows')}`;
}

function formatConfidence(confidence: number | null | undefined): string | null {
  if (confidence === null || confidence === undefined) return null;
  return confidence <= 1 ? `confidence ${Math.round(confidence * 100)}%` : `confidence ${confidence}`;
}

export function formatSubject(subject: { type: string; value: string; masked?: boolean }, style: Style): string {
  return `${clean(subject.type)} ${clean(subject.value)}${subject.masked ? style.dim(' (masked)') : ''}`;
}

export interface RenderOptions {
  /** `tsi investigate` has already printed each step as it finished. */
  steps?: boolean;
}

export function renderInvestigation(inv: Investigation, style: Style, options: RenderOptions = {}): string {
  const out: string[] = [];
  const field = (label: string, value: string) => out.push(`  ${style.dim(label.padEnd(10))} ${value}`);

  out.push(`${style.bold(`Investigation ${clean(inv.id)}`)}  ${paintStatus(inv.status, style)}`);
  field('subject', formatSubject(inv.subject, style));
  if (inv.question) field('question', clean(inv.question));
  field('created', `${formatTime(inv.created_at)} by ${clean(inv.created_by)}`);
  const window = [
    inv.window_days !== null && inv.window_days !== undefined ? formatCount(inv.window_days, 'day', 'days') : null,
    inv.sensitivity ? `${clean(inv.sensitivity)} sensitivity` : null,
  ].filter(Boolean);
  if (window.length) field('window', window.join(', '));
  if (inv.assignee) field('assignee', clean(inv.assignee));
  if (inv.team) field('team', clean(inv.team));
  if (inv.attempts !== null && inv.attempts !== undefined && inv.attempts > 1) field('attempts', String(inv.attempts));

  if (options.steps !== false) {
    out.push('', style.bold(`Steps (${inv.steps.length})`));
    if (inv.steps.length === 0) out.push(`  ${style.dim('none yet')}`);
    else {
      const rows = inv.steps.map((s) => [
        String(s.index),
        stepTitle(s),
        s.rows === null || s.rows === undefined ? '—' : String(s.rows),
        formatBytes(s.estimated_bytes),
        s.duration_ms === null || s.duration_ms === undefined ? '—' : String(Math.round(s.duration_ms)),
        { text: clean(s.status), paint: (t: string) => paintStatus(t, style) },
      ]);
      out.push(...renderTable(['#', 'STEP', 'ROWS', 'EST. BYTES', 'MS', 'STATUS'], rows, style, new Set([0, 2, 3, 4])));
      for (const s of inv.steps) {
        const error = stepError(s);
        if (error) out.push(`  ${style.red(`step ${s.index}: ${error}`)}`);
      }
      // Why the planner chose each step (agent plan), when the server recorded it.
      for (const s of inv.steps) {
        const reason = (s as { reason?: unknown }).reason;
        if (typeof reason === 'string' && reason) out.push(`  ${style.dim(`${s.index}. why: ${clean(reason)}`)}`);
      }
    }
  }

  out.push('', style.bold(`Findings (${inv.findings.length})`));
  if (inv.findings.length === 0) out.push(`  ${style.dim(inv.status === 'completed' || inv.status === 'closed' ? 'none: nothing found on this subject' : 'none yet')}`);
  for (const f of inv.findings) {
    out.push(`  ${paintSeverity(f.severity, style)}  ${style.bold(clean(f.title))}`);
    if (f.summary) out.push(...indentLines(f.summary, '    '));
    const meta = [formatConfidence(f.confidence), f.escalate ? style.red('escalate') : null, (f as { stale?: unknown }).stale === true ? style.yellow('stale data') : null, evidenceCounts(f)].filter(Boolean);
    out.push(`    ${style.dim(meta.join(' · '))}`);
  }

  if (inv.risk) {
    out.push('', `${style.bold('Risk score')} ${style.bold(String(inv.risk.score))}`);
    const contributions = inv.risk.contributions ?? [];
    if (contributions.length) {
      out.push(
        ...renderTable(
          ['POINTS', 'SIGNAL', 'DETAIL'],
          contributions.map((c) => [(c.points > 0 ? '+' : '') + String(c.points), clean(c.signal), clean(c.detail ?? '')]),
          style,
          new Set([0]),
        ),
      );
    }
  }

  if (inv.recommended_action) {
    out.push('', `${style.bold('Recommended action')} ${style.yellow(clean(inv.recommended_action.action))}`);
    if (inv.recommended_action.reason) out.push(...indentLines(inv.recommended_action.reason, '  '));
  }

  if (inv.answers?.length) {
    out.push('', style.bold('Answer'));
    for (const a of inv.answers) out.push(...indentLines(a.text, '  '));
  }

  if (inv.summary) out.push('', style.bold('Summary'), ...indentLines(inv.summary, '  '));

  if (inv.failure_reason) out.push('', style.red(style.bold('Failure')), ...indentLines(inv.failure_reason, '  '));

  if (inv.decision) {
    const d = inv.decision;
    const by = [d.closed_by ? `by ${clean(d.closed_by)}` : null, d.closed_at ? `at ${formatTime(d.closed_at)}` : null].filter(Boolean).join(' ');
    out.push('', `${style.bold('Decision')} ${clean(d.outcome)}${by ? ` ${style.dim(by)}` : ''}`);
    if (d.rationale) out.push(...indentLines(d.rationale, '  '));
  }

  return out.join('\n') + '\n';
}

function actionName(action: InvestigationSummary['recommended_action']): string {
  if (action === null || action === undefined) return '—';
  return clean(typeof action === 'string' ? action : action.action);
}

export function renderList(items: readonly InvestigationSummary[], style: Style): string {
  if (items.length === 0) return 'No investigations match.\n';
  const rows = items.map((i) => [
    clean(i.id),
    { text: clean(i.status), paint: (t: string) => paintStatus(t, style) },
    `${clean(i.subject.type)} ${clean(i.subject.value)}`,
    clean(i.created_by),
    formatTime(i.created_at),
    i.risk_score === null || i.risk_score === undefined ? '—' : String(i.risk_score),
    actionName(i.recommended_action),
  ]);
  return renderTable(['ID', 'STATUS', 'SUBJECT', 'CREATED BY', 'CREATED', 'RISK', 'ACTION'], rows, style, new Set([5]), '').join('\n') + '\n';
}

/** A value safe to paste into a POSIX shell. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface ListFilters {
  status?: string;
  created_by?: string;
  assignee?: string;
  page_size?: number;
}

/** The command that fetches the next page, with the same filters. */
export function renderNextPageHint(token: string, filters: ListFilters): string {
  const args = ['tsi list'];
  if (filters.status) args.push(`--status ${shellQuote(filters.status)}`);
  if (filters.created_by) args.push(`--created-by ${shellQuote(filters.created_by)}`);
  if (filters.assignee) args.push(`--assignee ${shellQuote(filters.assignee)}`);
  if (filters.page_size) args.push(`--page-size ${filters.page_size}`);
  args.push(`--page-token ${shellQuote(clean(token))}`);
  return `More results: ${args.join(' ')}  (or --all)\n`;
}

/** `error: <title>: <detail>`, then the per-field errors of a validation problem. */
export function renderProblem(problem: ProblemBody): string {
  const lines = [`error: ${clean(problem.title)}${problem.detail ? `: ${clean(problem.detail)}` : ''}`];
  const errors = problem.errors ?? [];
  // The detail already names the first field; list them all only when there is more than one.
  if (errors.length > 1) {
    for (const e of errors) lines.push(`  - ${clean([e.path, e.message].filter(Boolean).join(': '))}`);
  }
  if (problem.request_id && (problem.status ?? 0) >= 500) lines.push(`  (request_id ${clean(problem.request_id)})`);
  return lines.join('\n') + '\n';
}
