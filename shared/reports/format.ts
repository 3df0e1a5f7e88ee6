/**
 * Escaping and formatting shared by the renderers. Every value in a report comes from stored data
 * that may be hostile (a question, an id, a parameter), so every interpolation goes through one of
 * these: `html` for HTML text and attributes, `mdText` / `mdCode` for Markdown. Control characters
 * are removed everywhere so a report printed to a terminal cannot drive it.
 */

// C0 controls except tab/newline, DEL, C1 controls; plus bidi overrides that can disguise text.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

export function stripControls(text: string): string {
  return text.replace(CONTROL, '');
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** For HTML text and (double-quoted) attribute values alike. */
export function html(value: unknown): string {
  return stripControls(String(value ?? '')).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * Markdown text on one line: backslash-escapes every character CommonMark/GFM could read as markup
 * inline (emphasis, links, images, raw HTML, autolinks, entities, table cells, code) and folds line
 * breaks. Callers never start a line with a value, so line-start markers (lists, headings) cannot arise.
 */
export function mdText(value: unknown): string {
  return stripControls(String(value ?? ''))
    .replace(/\r?\n|\r/g, ' ')
    .replace(/[\\`*[\]<>#!|~&]/g, (c) => `\\${c}`)
    // An underscore between two letters or digits can neither open nor close emphasis (CommonMark
    // flanking rules), so ids like usr_1 stay readable; any other underscore is escaped.
    .replace(/_/g, (c, at: number, all: string) => (/[\p{L}\p{N}]/u.test(all[at - 1] ?? '') && /[\p{L}\p{N}]/u.test(all[at + 1] ?? '') ? c : '\\_'));
}

/** An inline code span that no content can break out of; pipes stay escaped for GFM tables. */
export function mdCode(value: unknown): string {
  const text = stripControls(String(value ?? '')).replace(/\r?\n|\r/g, ' ');
  if (text === '') return '';
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || (text.startsWith(' ') && text.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${text.replace(/\|/g, '\\|')}${pad}${fence}`;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const rounded = Math.round(n * 100) / 100;
  const [int = '0', frac] = String(Math.abs(rounded)).split('.');
  return `${rounded < 0 ? '-' : ''}${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac ? `.${frac}` : ''}`;
}

/** Binary units, as BigQuery bills them. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatParams(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  if (!entries.length) return '—';
  return entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
}

export function formatFreshness(freshness: Record<string, string | null>): string {
  const entries = Object.entries(freshness);
  if (!entries.length) return '—';
  return entries.map(([t, v]) => `${t}: ${v ?? 'unknown'}`).join(', ');
}

export function percent(confidence: number): string {
  return `${Math.round(confidence * 100)}%`;
}
