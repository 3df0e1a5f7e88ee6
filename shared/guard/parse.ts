import type { ParserOptions, Program } from 'sql-parser-cst';
import { lazyPackage } from '../platform/lazy-package.js';

// Loaded by the first query parsed: functions that never run SQL never pay for the parser.
const parser = lazyPackage<typeof import('sql-parser-cst')>('sql-parser-cst');

/**
 * The one SQL parser of the platform: sql-parser-cst with its BigQuery dialect. The tree keeps
 * comments and source ranges for the query's identity (normalise.ts drops them by range); what an
 * engine runs is never `show`n from this tree but printed afresh by translate.ts (decision 0025).
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
  return parser().parse(sql, OPTIONS);
}

/**
 * How deeply the tree nests, found without recursion. The walks over the tree (analysis, printer,
 * normalisation) recurse, so a query nesting deeper than MAX_DEPTH is refused before them
 * (a chain of 3,000 ANDs would otherwise exhaust the stack: a 500, not a refusal).
 */
export const MAX_DEPTH = 500;

export function treeDepth(root: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > deepest) deepest = depth;
    if (Array.isArray(node)) for (const v of node) stack.push([v, depth]);
    else if (isNode(node)) for (const [k, v] of Object.entries(node)) if (k !== 'range' && typeof v === 'object' && v !== null) stack.push([v, depth + 1]);
  }
  return deepest;
}

/** The original text of a node, for messages only (never for SQL an engine runs). */
export function print(node: unknown): string {
  return parser().show(node as never);
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
