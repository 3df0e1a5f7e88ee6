import { createHash } from 'node:crypto';
import { isTableName, type TableName } from './contract.js';
import { SqlTemplateError } from './errors.js';

/**
 * Query templates: the SQL subset both engines run, checked and rewritten here so each adapter only
 * says how a table and a parameter are spelled.
 *
 * The subset (what templates may use):
 * - one SELECT or WITH statement; no `;` inside, no DDL/DML (the local engine is also read-only);
 * - contract tables only as `{{table_name}}` markers, never spelled out or back-quoted;
 * - named parameters `@name` (no positional `?`, no `@@system_variables`);
 * - strings in single quotes only (a double-quoted string is an identifier in DuckDB);
 * - comments `--` and block comments (not BigQuery's `#`);
 * - array membership as `x IN (SELECT * FROM UNNEST(@list))` (DuckDB rejects `IN UNNEST(@list)`);
 * - portable functions only (`CAST(ts AS DATE)`, `COUNT(DISTINCT …)`, `CASE`, `COALESCE`,
 *   window functions); time windows are TIMESTAMP parameters computed by the caller, never
 *   `CURRENT_TIMESTAMP()`/`DATE_SUB` style functions.
 */

export type Token = { kind: 'text'; text: string } | { kind: 'table'; name: TableName } | { kind: 'param'; name: string };

export interface ParsedTemplate {
  tokens: Token[];
  /** Contract tables referenced, in order of first appearance. */
  tables: TableName[];
  /** Parameter names referenced, in order of first appearance. */
  params: string[];
  /** Lower-cased identifiers outside strings and comments (used by the local byte estimate). */
  identifiers: Set<string>;
  /** True if the template selects `*` from something other than UNNEST. */
  selectsStar: boolean;
}

const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const MARKER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y;
const FORBIDDEN_WORDS = new Set(['insert', 'update', 'delete', 'merge', 'drop', 'create', 'alter', 'truncate', 'grant', 'revoke', 'attach', 'detach', 'copy', 'export', 'import', 'install', 'load', 'pragma', 'call', 'set', 'begin', 'commit', 'rollback', 'execute', 'declare']);

export function parseTemplate(sql: string): ParsedTemplate {
  const tokens: Token[] = [];
  const tables: TableName[] = [];
  const params: string[] = [];
  const identifiers = new Set<string>();
  let text = '';
  let selectsStar = false;
  let lastWord = '';
  let prev = '';
  const flush = () => {
    if (text) tokens.push({ kind: 'text', text });
    text = '';
  };
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === "'") {
      const end = endOfString(sql, i);
      text += sql.slice(i, end);
      i = end;
      continue;
    }
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
      text += ' ';
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) throw new SqlTemplateError('unterminated block comment');
      i = end + 2;
      text += ' ';
      continue;
    }
    if (ch === '"') throw new SqlTemplateError('double-quoted strings/identifiers are not in the portable subset; use single quotes');
    if (ch === '`') throw new SqlTemplateError('back-quoted names are not allowed; reference contract tables as {{table}}');
    if (ch === '#') throw new SqlTemplateError('# comments are BigQuery-only; use --');
    if (ch === '?') throw new SqlTemplateError('positional parameters are not allowed; use @name');
    if (ch === ';') {
      if (sql.slice(i + 1).trim() !== '') throw new SqlTemplateError('a template is exactly one statement');
      i = sql.length;
      continue;
    }
    if (ch === '{') {
      MARKER.lastIndex = i;
      const m = MARKER.exec(sql);
      if (!m) throw new SqlTemplateError('malformed {{table}} marker');
      const name = m[1]!;
      if (!isTableName(name)) throw new SqlTemplateError(`{{${name}}} is not a contract table`);
      flush();
      tokens.push({ kind: 'table', name });
      if (!tables.includes(name)) tables.push(name);
      i = MARKER.lastIndex;
      lastWord = '';
      continue;
    }
    if (ch === '@') {
      if (next === '@') throw new SqlTemplateError('system variables (@@) are not allowed');
      WORD.lastIndex = i + 1;
      const m = WORD.exec(sql);
      if (!m) throw new SqlTemplateError('"@" must start a parameter name');
      flush();
      tokens.push({ kind: 'param', name: m[0] });
      if (!params.includes(m[0])) params.push(m[0]);
      i = WORD.lastIndex;
      lastWord = '';
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      WORD.lastIndex = i;
      const word = WORD.exec(sql)![0];
      const lower = word.toLowerCase();
      if (FORBIDDEN_WORDS.has(lower)) throw new SqlTemplateError(`"${word}" is not allowed in a read-only query template`);
      identifiers.add(lower);
      text += word;
      i += word.length;
      lastWord = lower;
      prev = 'a';
      continue;
    }
    if (ch === '*' && (lastWord === 'select' || prev === '.' || prev === ',')) {
      // `SELECT * FROM UNNEST(@x)` reads no table columns; any other star may read them all.
      const rest = sql.slice(i + 1).trimStart();
      if (!/^from\s+unnest\s*\(/i.test(rest)) selectsStar = true;
    }
    if (!/\s/.test(ch)) {
      lastWord = '';
      prev = ch;
    }
    text += ch;
    i += 1;
  }
  flush();
  const first = tokens.find((t) => t.kind !== 'text' || t.text.trim() !== '');
  const start = first?.kind === 'text' ? first.text.trimStart().slice(0, 6).toLowerCase() : '';
  if (!start.startsWith('select') && !start.startsWith('with')) throw new SqlTemplateError('a template must be a SELECT or WITH query');
  return { tokens, tables, params, identifiers, selectsStar };
}

function endOfString(sql: string, start: number): number {
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === "'") {
      if (sql[i + 1] === "'") {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i += 1;
  }
  throw new SqlTemplateError('unterminated string literal');
}

/** Spells out a parsed template for one engine. */
export function renderTemplate(parsed: ParsedTemplate, spell: { table(name: TableName): string; param(name: string): string }): string {
  return parsed.tokens.map((t) => (t.kind === 'text' ? t.text : t.kind === 'table' ? spell.table(t.name) : spell.param(t.name))).join('').trim();
}

/**
 * Keeps exactly the parameters the template references: a referenced one that is missing is a
 * programming error; an unreferenced one is dropped (DuckDB rejects values it cannot bind).
 */
export function bindParams<V>(parsed: ParsedTemplate, params: Record<string, V>): Record<string, V> {
  const missing = parsed.params.filter((p) => !Object.prototype.hasOwnProperty.call(params, p));
  if (missing.length) throw new SqlTemplateError(`missing parameter(s): ${missing.map((p) => '@' + p).join(', ')}`);
  return Object.fromEntries(parsed.params.map((p) => [p, params[p] as V]));
}

/**
 * The template without comments and with whitespace collapsed outside string literals, so that a
 * re-indented template keeps its hash.
 */
export function normaliseSql(sql: string): string {
  let out = '';
  let i = 0;
  let space = false;
  const emit = (s: string) => {
    if (space && out) out += ' ';
    space = false;
    out += s;
  };
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === "'") {
      const end = endOfString(sql, i);
      emit(sql.slice(i, end));
      i = end;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
      space = true;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
      space = true;
    } else if (/\s/.test(ch)) {
      space = true;
      i += 1;
    } else {
      emit(ch);
      i += 1;
    }
  }
  return out.replace(/;$/, '');
}

/** sha256 (hex) of the normalised template: the stable identity of a query in evidence and lineage. */
export function sqlHash(sql: string): string {
  return createHash('sha256').update(normaliseSql(sql)).digest('hex');
}
