import { createHash } from 'node:crypto';
import { isNode, parseBigQuery, type Node } from './parse.js';

/**
 * The identity of a query in lineage, evidence and the cache: its text with comments removed,
 * runs of whitespace collapsed to one space outside string literals and quoted names, and a
 * trailing `;` dropped; found with the parser, so `--` inside a string is not a comment.
 */
export function normaliseSql(sql: string, parsed?: unknown): string {
  let program: Node;
  try {
    program = (parsed ?? parseBigQuery(sql)) as Node;
  } catch {
    return sql.replace(/\s+/g, ' ').trim();
  }
  const keep: [number, number][] = [];
  const drop: [number, number][] = [];
  const visit = (n: Node) => {
    const range = n.range as [number, number] | undefined;
    if (range && (n.type === 'string_literal' || (n.type === 'identifier' && String(n.text).startsWith('`')))) keep.push(range);
    if (range && (n.type === 'line_comment' || n.type === 'block_comment')) drop.push(range);
    for (const v of Object.values(n)) {
      if (Array.isArray(v)) v.forEach((x) => isNode(x) && visit(x));
      else if (isNode(v)) visit(v);
    }
  };
  visit(program);
  let out = '';
  let space = false;
  let i = 0;
  while (i < sql.length) {
    const k = keep.find(([s]) => s === i);
    const d = drop.find(([s]) => s === i);
    if (k) {
      if (space && out) out += ' ';
      space = false;
      out += sql.slice(k[0], k[1]);
      i = k[1];
    } else if (d) {
      space = true;
      i = d[1];
    } else if (/\s/.test(sql[i]!)) {
      space = true;
      i++;
    } else {
      if (space && out) out += ' ';
      space = false;
      out += sql[i];
      i++;
    }
  }
  return out.replace(/\s*;\s*$/, '');
}

export function sqlHash(sql: string): string {
  return createHash('sha256').update(normaliseSql(sql)).digest('hex');
}
