import type { Program } from 'sql-parser-cst';
import type { TableName } from '../warehouse/contract.js';
import type { Analysis } from './analyse.js';
import { callArgs, functionName, isNode, keywordName, print, type Node } from './parse.js';

/**
 * Rewriting an accepted query for the engine that runs it, by editing the parse tree and printing
 * it back (comments and layout survive):
 * - both engines: contract table names → the engine's spelling; a row limit on the outer query;
 * - DuckDB (local): the documented BigQuery subset below → DuckDB SQL.
 *
 * The subset (one language for both engines; anything else is refused by `function-not-allowed`):
 *   aggregates  COUNT, COUNTIF, SUM, AVG, MIN, MAX, ANY_VALUE, ARRAY_AGG, STRING_AGG, APPROX_COUNT_DISTINCT
 *   windows     ROW_NUMBER, RANK, DENSE_RANK, LAG, LEAD (OVER (PARTITION BY … ORDER BY …))
 *   scalar      COALESCE, IFNULL, NULLIF, IF, LOWER, UPPER, LENGTH, SUBSTR, TRIM, CONCAT, STARTS_WITH,
 *               ENDS_WITH, ABS, ROUND, FLOOR, CEIL, GREATEST, LEAST, SAFE_DIVIDE, and `SAFE.` prefixes
 *   time        CURRENT_TIMESTAMP(), CURRENT_DATE(), TIMESTAMP(x), DATE(x),
 *               TIMESTAMP_SUB/TIMESTAMP_ADD/DATE_SUB/DATE_ADD(x, INTERVAL n unit),
 *               TIMESTAMP_TRUNC/DATE_TRUNC(x, unit), TIMESTAMP_DIFF/DATE_DIFF(a, b, unit), EXTRACT(part FROM x)
 *   syntax      CAST(x AS INT64|FLOAT64|NUMERIC|STRING|BOOL|DATE|TIMESTAMP), CASE, IN UNNEST(@list),
 *               `x IN (SELECT * FROM UNNEST(@list))`, "double-quoted" strings, `back-quoted` names,
 *               # comments, * EXCEPT (…), UNION ALL/DISTINCT, WITH, QUALIFY, named @parameters
 * CURRENT_TIMESTAMP()/CURRENT_DATE() become literals of the guard's clock, so a query's time window
 * is the one the guard checked.
 */
export const SUPPORTED_FUNCTIONS: ReadonlySet<string> = new Set([
  'COUNT', 'COUNTIF', 'SUM', 'AVG', 'MIN', 'MAX', 'ANY_VALUE', 'ARRAY_AGG', 'STRING_AGG', 'APPROX_COUNT_DISTINCT',
  'ROW_NUMBER', 'RANK', 'DENSE_RANK', 'LAG', 'LEAD',
  'COALESCE', 'IFNULL', 'NULLIF', 'IF', 'LOWER', 'UPPER', 'LENGTH', 'SUBSTR', 'TRIM', 'CONCAT', 'STARTS_WITH', 'ENDS_WITH',
  'ABS', 'ROUND', 'FLOOR', 'CEIL', 'GREATEST', 'LEAST', 'SAFE_DIVIDE',
  'CURRENT_TIMESTAMP', 'CURRENT_DATE', 'TIMESTAMP', 'DATE',
  'TIMESTAMP_SUB', 'TIMESTAMP_ADD', 'DATE_SUB', 'DATE_ADD', 'TIMESTAMP_TRUNC', 'DATE_TRUNC', 'TIMESTAMP_DIFF', 'DATE_DIFF',
]);

export type EngineSpelling =
  | { kind: 'bigquery'; table(name: TableName): string }
  | { kind: 'duckdb'; now: Date };

const DUCK_TYPES: Record<string, string> = { INT64: 'BIGINT', FLOAT64: 'DOUBLE', NUMERIC: 'DECIMAL(38, 9)', BIGNUMERIC: 'DECIMAL(38, 9)', STRING: 'VARCHAR', BOOL: 'BOOLEAN' };
const DUCK_RENAMED: Record<string, string> = { COUNTIF: 'count_if' };

/** Prints the accepted program for one engine, with the outer query limited to `limit` rows. Mutates the tree. */
export function renderFor(program: Program, analysis: Analysis, spelling: EngineSpelling, limit: number): string {
  for (const use of analysis.tables) {
    use.node.text = spelling.kind === 'bigquery' ? spelling.table(use.table) : use.table;
  }
  const stmt = (program.statements as unknown as Node[]).find((s) => s.type !== 'empty')!;
  applyLimit(stmt, limit);
  // A trailing `;` (and anything after it) is dropped: the engines get exactly one statement.
  const body = print(stmt);
  if (spelling.kind === 'bigquery') return body.trim();
  const leading = ((stmt as Node).leading as Node[] | undefined) ?? [];
  return print(toDuck({ ...(stmt as Node), leading }, spelling.now)).trim();
}

function applyLimit(stmt: Node, limit: number): void {
  let target = stmt;
  while (target.type === 'compound_select_stmt') target = target.right as Node;
  const clauses = target.clauses as Node[];
  const existing = clauses.find((c) => c.type === 'limit_clause');
  if (existing) {
    const count = existing.count as Node;
    if (count.type === 'number_literal' && Number(count.value) <= limit) return;
    existing.count = { type: 'number_literal', text: String(limit), value: limit, leading: [{ type: 'space', text: ' ' }] };
    return;
  }
  clauses.push({ type: 'limit_clause', limitKw: { type: 'keyword', text: 'LIMIT', name: 'LIMIT' }, count: { type: 'number_literal', text: String(limit), value: limit, leading: [{ type: 'space', text: ' ' }] }, leading: [{ type: 'newline', text: '\n' }] });
}

/** A node printed as literal text (keeps the original's surrounding whitespace). */
function raw(original: Node, text: string): Node {
  return { type: 'identifier', text, name: text, ...(original.leading ? { leading: original.leading } : {}), ...(original.trailing ? { trailing: original.trailing } : {}) };
}

function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function timestampLiteral(ms: number): string {
  return `CAST('${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}' AS TIMESTAMP)`;
}

function toDuck(node: Node, now: Date): Node {
  const out: Node = { ...node };
  for (const [key, value] of Object.entries(node)) {
    if (key === 'range') continue;
    if (Array.isArray(value)) out[key] = value.map((v) => (isNode(v) ? toDuck(v, now) : v));
    else if (isNode(value)) out[key] = toDuck(value, now);
  }
  return translateNode(out, now);
}

function translateNode(n: Node, now: Date): Node {
  switch (n.type) {
    case 'parameter':
      return raw(n, '$' + String(n.text).replace(/^@/, ''));
    case 'string_literal':
      return raw(n, sqlString(String(n.value)));
    case 'identifier': {
      const text = String(n.text);
      return text.startsWith('`') ? raw(n, `"${String(n.name).replace(/"/g, '""')}"`) : n;
    }
    case 'line_comment':
      return String(n.text).startsWith('#') ? { ...n, text: '--' + String(n.text).slice(1) } : n;
    case 'data_type_name': {
      const name = keywordName(n.name);
      return DUCK_TYPES[name] ? raw(n, DUCK_TYPES[name]!) : n;
    }
    case 'except_columns':
      return { ...n, exceptKw: { type: 'keyword', text: 'EXCLUDE', name: 'EXCLUDE', leading: [{ type: 'space', text: ' ' }], trailing: [{ type: 'space', text: ' ' }] } };
    case 'binary_expr': {
      const right = n.right as Node;
      if (keywordName(n.operator).endsWith('IN') && right.type === 'unnest_expr') {
        return { ...n, right: raw(right, `(SELECT UNNEST(${print((right.expr as Node).expr).trim()}))`) };
      }
      return n;
    }
    case 'func_call':
      return translateCall(n, now);
    default:
      return n;
  }
}

function translateCall(n: Node, now: Date): Node {
  const name = functionName(n);
  const args = callArgs(n).map((a) => print(a).trim());
  const unit = (i: number) => String(callArgs(n)[i] ? print(callArgs(n)[i]).trim() : 'DAY').toLowerCase();
  switch (name) {
    case 'CURRENT_TIMESTAMP':
      return raw(n, timestampLiteral(now.getTime()));
    case 'CURRENT_DATE':
      return raw(n, `DATE '${now.toISOString().slice(0, 10)}'`);
    case 'DATE':
      return args.length === 1 ? raw(n, `CAST(${args[0]} AS DATE)`) : n;
    case 'TIMESTAMP':
      return args.length === 1 ? raw(n, `CAST(${args[0]} AS TIMESTAMP)`) : n;
    case 'TIMESTAMP_SUB':
    case 'TIMESTAMP_ADD':
      return raw(n, `(${args[0]} ${name.endsWith('SUB') ? '-' : '+'} ${args[1]})`);
    case 'DATE_SUB':
    case 'DATE_ADD':
      return raw(n, `CAST(${args[0]} ${name.endsWith('SUB') ? '-' : '+'} ${args[1]} AS DATE)`);
    case 'TIMESTAMP_TRUNC':
      return raw(n, `date_trunc('${unit(1)}', ${args[0]})`);
    case 'DATE_TRUNC':
      return raw(n, `CAST(date_trunc('${unit(1)}', ${args[0]}) AS DATE)`);
    case 'TIMESTAMP_DIFF':
    case 'DATE_DIFF':
      // BigQuery counts a − b; DuckDB's date_diff(part, start, end) counts end − start.
      return raw(n, `date_diff('${unit(2)}', ${args[1]}, ${args[0]})`);
    case 'SAFE_DIVIDE':
      return raw(n, `(CASE WHEN (${args[1]}) = 0 THEN NULL ELSE (${args[0]}) / (${args[1]}) END)`);
    default: {
      const renamed = DUCK_RENAMED[name];
      if (renamed || print(n.name).trim().toUpperCase().startsWith('SAFE.')) {
        return { ...n, name: raw(n.name as Node, renamed ?? name.toLowerCase()) };
      }
      return n;
    }
  }
}
