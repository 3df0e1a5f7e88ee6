import { createRequire } from 'node:module';
import type * as SqlParserPackage from 'sql-parser-cst';
import type { ParserOptions, Program } from 'sql-parser-cst';

const requireHere = createRequire(import.meta.url);
let parser: typeof SqlParserPackage | undefined;
/**
 * sql-parser-cst (~100 ms and ~20 MiB at start-up) is loaded by the first query, not by every
 * function that links the guard without parsing SQL (intake, webhooks, reconciler). Synchronously:
 * parsing is; the package is CommonJS, so `require` gives the module an `import` would.
 */
const sqlParser = () => (parser ??= requireHere('sql-parser-cst') as typeof SqlParserPackage);
/** Never called: how the bundler sees the dependency behind the `require` (scripts/build-functions.mjs reads esbuild's metafile). */
export const declareSqlParserDependency = () => import('sql-parser-cst');

/**
 * The one SQL parser of the platform: sql-parser-cst with its BigQuery dialect. The tree keeps
 * whitespace and comments so `show` prints back exactly what was written, which lets the guard
 * rewrite a query (table names, LIMIT, the local translation) by editing nodes instead of text.
 */
export type Node = { type: string; [key: string]: unknown };

const OPTIONS: ParserOptions = {
  dialect: 'bigquery',
  includeComments: true,
  includeSpaces: true,
  includeNewlines: true,
  includeRange: true,
  paramTypes: ['@name'],
};

export function parseBigQuery(sql: string): Program {
  return sqlParser().parse(sql, OPTIONS);
}

export function print(node: unknown): string {
  return sqlParser().show(node as never);
}

export function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string';
}

/** Child nodes of any node, in source order, skipping whitespace/comment decorations. */
export function children(node: Node): Node[] {
  const out: Node[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'leading' || key === 'trailing' || key === 'range') continue;
    if (Array.isArray(value)) for (const v of value) isNode(v) && out.push(v);
    else if (isNode(value)) out.push(value);
  }
  return out;
}

/** Upper-case dotted name of a function call (`SAFE.LOWER` → `LOWER`, `NET.HOST` → `NET.HOST`). */
export function functionName(call: Node): string {
  const parts: string[] = [];
  const walk = (n: Node): void => {
    if (n.type === 'identifier') parts.push(String(n.name));
    else if (n.type === 'member_expr') {
      walk(n.object as Node);
      if (isNode(n.property)) walk(n.property as Node);
    } else parts.push('?');
  };
  walk(call.name as Node);
  const name = parts.join('.').toUpperCase();
  return name.startsWith('SAFE.') ? name.slice(5) : name;
}

/** Arguments of a function call (empty for `CURRENT_TIMESTAMP` without parentheses). */
export function callArgs(call: Node): Node[] {
  const paren = call.args as Node | undefined;
  const fargs = paren?.expr as Node | undefined;
  const list = fargs?.args as Node | undefined;
  return (list?.items as Node[] | undefined) ?? [];
}

export function keywordName(kw: unknown): string {
  if (Array.isArray(kw)) return kw.map(keywordName).join(' ');
  if (isNode(kw) && kw.type === 'keyword') return String(kw.name).toUpperCase();
  return typeof kw === 'string' ? kw.toUpperCase() : '';
}
