import type { Program } from 'sql-parser-cst';
import type { TableName } from '../warehouse/contract.js';
import { parseTime, type Analysis } from './analyse.js';
import { callArgs, functionName, isNode, keywordName, type Node } from './parse.js';

/**
 * The SQL an engine receives, printed from the parsed tree by this module — never copied from the
 * input text. Every token comes from a node's parsed value (names, string values, numbers) spelled
 * afresh for the engine, or from this file (keywords, operators, punctuation); comments and layout
 * are dropped. So an engine runs exactly the query the guard analysed, whatever its own lexer
 * would have made of the original text (DuckDB nests `/* *\/` comments, BigQuery does not; quoting
 * and escapes differ).
 *
 * The printer is also the accepted subset: a node it cannot print is refused (`syntax-not-allowed`)
 * before anything runs. The subset (one language for both engines):
 *   aggregates  COUNT, COUNTIF, SUM, AVG, MIN, MAX, ANY_VALUE, ARRAY_AGG, STRING_AGG, APPROX_COUNT_DISTINCT
 *   windows     ROW_NUMBER, RANK, DENSE_RANK, LAG, LEAD, aggregates OVER (PARTITION BY … ORDER BY … frame),
 *               named windows (WINDOW w AS (…))
 *   scalar      COALESCE, IFNULL, NULLIF, IF, LOWER, UPPER, LENGTH, SUBSTR, TRIM, CONCAT, STARTS_WITH,
 *               ENDS_WITH, ABS, ROUND, FLOOR, CEIL, GREATEST, LEAST, SAFE_DIVIDE, and `SAFE.` prefixes
 *   time        CURRENT_TIMESTAMP(), CURRENT_DATE(), TIMESTAMP(x), DATE(x),
 *               TIMESTAMP_SUB/TIMESTAMP_ADD/DATE_SUB/DATE_ADD(x, INTERVAL n unit),
 *               TIMESTAMP_TRUNC/DATE_TRUNC(x, unit), TIMESTAMP_DIFF/DATE_DIFF(a, b, unit),
 *               EXTRACT(YEAR|QUARTER|MONTH|DAY|DAYOFWEEK|DAYOFYEAR|HOUR|MINUTE|SECOND FROM x)
 *   syntax      SELECT [DISTINCT], FROM with [INNER|LEFT|RIGHT|FULL|CROSS] JOIN … ON/USING and commas,
 *               WHERE, GROUP BY, HAVING, QUALIFY, ORDER BY, LIMIT/OFFSET, WITH (not recursive),
 *               UNION/INTERSECT/EXCEPT, subqueries, CASE, [NOT] BETWEEN, [NOT] IN, [NOT] LIKE, IS [NOT],
 *               EXISTS, CAST/SAFE_CAST(x AS INT64|FLOAT64|NUMERIC|STRING|BOOL|DATE|TIMESTAMP),
 *               IN UNNEST(@list), `x IN (SELECT * FROM UNNEST(@list))`, FROM UNNEST(array) [AS v],
 *               [array, literals], TIMESTAMP/DATE literals, "double-quoted" and r'raw'/'''triple''' strings,
 *               `back-quoted` names, * EXCEPT (…), named @parameters
 * Not in it (refused): STRUCT, subscripts, table functions, WITH OFFSET, PIVOT, TABLESAMPLE, time
 * travel, DATETIME/TIME/JSON/BYTES, week units (BigQuery weeks start on Sunday, DuckDB's on Monday),
 * IGNORE NULLS and LIMIT inside aggregates, names holding control or invisible characters.
 *
 * CURRENT_TIMESTAMP()/CURRENT_DATE() become literals of the guard's clock locally, so a query's
 * time window is the one the guard checked.
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

/** A construct outside the printable subset; the guard refuses the query as `syntax-not-allowed`. */
export class NotPrintable extends Error {}

/** Prints the accepted program for one engine, with the outer query limited to `limit` rows. Pure. */
export function renderFor(program: Program, analysis: Analysis, spelling: EngineSpelling, limit: number): string {
  const tables = new Map<Node, string>();
  for (const use of analysis.tables) tables.set(use.node, spelling.kind === 'bigquery' ? spelling.table(use.table) : use.table);
  const stmt = (program.statements as unknown as Node[]).find((s) => s.type !== 'empty');
  if (!stmt) throw new NotPrintable('an empty program');
  const p = new Printer({ dialect: spelling.kind, now: spelling.kind === 'duckdb' ? spelling.now : new Date(0), tables, ctes: new Set(analysis.cteRefs) });
  return p.statement(stmt, limit);
}

// ------------------------------------------------------------------ vocabulary

const BIGQUERY_RESERVED = new Set(
  ('ALL AND ANY ARRAY AS ASC ASSERT_ROWS_MODIFIED AT BETWEEN BY CASE CAST COLLATE CONTAINS CREATE CROSS CUBE CURRENT DEFAULT ' +
    'DEFINE DESC DISTINCT ELSE END ENUM ESCAPE EXCEPT EXCLUDE EXISTS EXTRACT FALSE FETCH FOLLOWING FOR FROM FULL GROUP GROUPING ' +
    'GROUPS HASH HAVING IF IGNORE IN INNER INTERSECT INTERVAL INTO IS JOIN LATERAL LEFT LIKE LIMIT LOOKUP MERGE NATURAL NEW NO ' +
    'NOT NULL NULLS OF ON OR ORDER OUTER OVER PARTITION PRECEDING PROTO QUALIFY RANGE RECURSIVE RESPECT RIGHT ROLLUP ROWS SELECT ' +
    'SET SOME STRUCT TABLESAMPLE THEN TO TREAT TRUE UNBOUNDED UNION UNNEST USING WHEN WHERE WINDOW WITH WITHIN').split(' '),
);
const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Control, format (zero-width, bidi overrides), line/paragraph separators and unpaired surrogates. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

const JOINS = new Map([
  ['JOIN', 'JOIN'], ['INNER JOIN', 'INNER JOIN'], ['CROSS JOIN', 'CROSS JOIN'],
  ['LEFT JOIN', 'LEFT JOIN'], ['LEFT OUTER JOIN', 'LEFT JOIN'], ['RIGHT JOIN', 'RIGHT JOIN'], ['RIGHT OUTER JOIN', 'RIGHT JOIN'],
  ['FULL JOIN', 'FULL JOIN'], ['FULL OUTER JOIN', 'FULL JOIN'],
]);
const SET_OPERATORS = new Set(['UNION ALL', 'UNION DISTINCT', 'INTERSECT DISTINCT', 'EXCEPT DISTINCT']);
const SYMBOL_OPERATORS = new Set(['=', '!=', '<>', '<', '>', '<=', '>=', '+', '-', '*', '/', '||']);
const WORD_OPERATORS = new Set(['AND', 'OR', 'IS', 'IS NOT', 'IN', 'NOT IN', 'LIKE', 'NOT LIKE']);
const CAST_TYPES: Record<string, { bigquery: string; duckdb: string }> = {
  INT64: { bigquery: 'INT64', duckdb: 'BIGINT' },
  FLOAT64: { bigquery: 'FLOAT64', duckdb: 'DOUBLE' },
  NUMERIC: { bigquery: 'NUMERIC', duckdb: 'DECIMAL(38, 9)' },
  STRING: { bigquery: 'STRING', duckdb: 'VARCHAR' },
  BOOL: { bigquery: 'BOOL', duckdb: 'BOOLEAN' },
  DATE: { bigquery: 'DATE', duckdb: 'DATE' },
  TIMESTAMP: { bigquery: 'TIMESTAMP', duckdb: 'TIMESTAMP' },
};
/** Units both engines count the same way (no WEEK: BigQuery's weeks start on Sunday). */
const TRUNC_UNITS = new Set(['MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'MONTH', 'QUARTER', 'YEAR']);
const INTERVAL_UNITS = new Set(['MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'MONTH', 'YEAR']);
const EXTRACT_PARTS: Record<string, { bigquery: string; duckdb: (x: string) => string }> = {
  YEAR: { bigquery: 'YEAR', duckdb: (x) => `EXTRACT(YEAR FROM ${x})` },
  QUARTER: { bigquery: 'QUARTER', duckdb: (x) => `EXTRACT(QUARTER FROM ${x})` },
  MONTH: { bigquery: 'MONTH', duckdb: (x) => `EXTRACT(MONTH FROM ${x})` },
  DAY: { bigquery: 'DAY', duckdb: (x) => `EXTRACT(DAY FROM ${x})` },
  HOUR: { bigquery: 'HOUR', duckdb: (x) => `EXTRACT(HOUR FROM ${x})` },
  MINUTE: { bigquery: 'MINUTE', duckdb: (x) => `EXTRACT(MINUTE FROM ${x})` },
  SECOND: { bigquery: 'SECOND', duckdb: (x) => `CAST(floor(EXTRACT(SECOND FROM ${x})) AS BIGINT)` },
  // BigQuery numbers Sunday 1 … Saturday 7; DuckDB's dayofweek Sunday 0 … Saturday 6.
  DAYOFWEEK: { bigquery: 'DAYOFWEEK', duckdb: (x) => `(dayofweek(${x}) + 1)` },
  DAYOFYEAR: { bigquery: 'DAYOFYEAR', duckdb: (x) => `dayofyear(${x})` },
};
const ORDERED_AGGREGATES = new Set(['ARRAY_AGG', 'STRING_AGG']);
const DUCK_RENAMED: Record<string, string> = { COUNTIF: 'count_if' };

// ------------------------------------------------------------------ printer

interface Target {
  dialect: 'bigquery' | 'duckdb';
  now: Date;
  /** Contract table references (FROM nodes) → the engine's spelling of the table (trusted text). */
  tables: Map<Node, string>;
  /** FROM nodes that name a CTE. */
  ctes: Set<Node>;
}

class Printer {
  constructor(private readonly t: Target) {}

  private get duck(): boolean {
    return this.t.dialect === 'duckdb';
  }

  statement(stmt: Node, limit: number): string {
    return this.query(stmt, limit);
  }

  // ---------------------------------------------------------------- queries

  private query(node: Node, limit: number | null = null): string {
    switch (node.type) {
      case 'select_stmt':
        return this.select(node, limit);
      case 'compound_select_stmt': {
        const op = keywordName(node.operator);
        if (!SET_OPERATORS.has(op)) throw new NotPrintable(`${op || 'a bare UNION'} (write UNION ALL or UNION DISTINCT)`);
        return `${this.query(node.left as Node)} ${op} ${this.query(node.right as Node, limit)}`;
      }
      case 'paren_expr':
        return limit === null ? `(${this.query(node.expr as Node)})` : `(${this.query(node.expr as Node)}) LIMIT ${limit}`;
      default:
        throw new NotPrintable(node.type);
    }
  }

  private select(node: Node, limit: number | null): string {
    const parts: string[] = [];
    let limited = false;
    for (const c of node.clauses as Node[]) {
      switch (c.type) {
        case 'with_clause': {
          if (c.recursiveKw) throw new NotPrintable('WITH RECURSIVE');
          const ctes = ((c.tables as Node).items as Node[]).map((cte) => {
            if (cte.columns || cte.materializedKw || cte.search || cte.cycle) throw new NotPrintable('CTE options');
            return `${this.name(cte.table as Node)} AS (${this.query(((cte.expr as Node).expr as Node))})`;
          });
          parts.push(`WITH ${ctes.join(', ')}`);
          break;
        }
        case 'select_clause': {
          const modifiers = ((c.modifiers as Node[]) ?? []).map((m) => {
            if (m.type === 'select_distinct') return 'DISTINCT';
            if (m.type === 'select_all') return 'ALL';
            throw new NotPrintable(`SELECT ${keywordName(Object.values(m).filter(isNode))}`.trim());
          });
          const items = (((c.columns as Node | undefined)?.items as Node[] | undefined) ?? []).map((i) => this.selectItem(i));
          if (!items.length) throw new NotPrintable('an empty select list');
          parts.push(['SELECT', ...modifiers, items.join(', ')].join(' '));
          break;
        }
        case 'from_clause':
          parts.push(`FROM ${this.tableExpr(c.expr as Node)}`);
          break;
        case 'where_clause':
          parts.push(`WHERE ${this.expr(c.expr as Node)}`);
          break;
        case 'group_by_clause':
          if (c.distinctKw || c.withRollupKw) throw new NotPrintable('GROUP BY options');
          parts.push(`GROUP BY ${((c.columns as Node).items as Node[]).map((g) => this.expr(g)).join(', ')}`);
          break;
        case 'having_clause':
          parts.push(`HAVING ${this.expr(c.expr as Node)}`);
          break;
        case 'qualify_clause':
          parts.push(`QUALIFY ${this.expr(c.expr as Node)}`);
          break;
        case 'window_clause':
          parts.push(`WINDOW ${((c.namedWindows as Node).items as Node[]).map((w) => `${this.name(w.name as Node)} AS (${this.windowDefinition(((w.window as Node).expr as Node))})`).join(', ')}`);
          break;
        case 'order_by_clause':
          parts.push(this.orderBy(c));
          break;
        case 'limit_clause': {
          if (c.rowsExamined) throw new NotPrintable('LIMIT ROWS EXAMINED');
          const count = c.count as Node | undefined;
          let n: string;
          if (limit !== null) {
            // The outer query never returns more than the caller's row limit.
            n = String(count?.type === 'number_literal' && Number(count.value) <= limit ? this.integer(count) : limit);
            limited = true;
          } else {
            if (!count || count.type !== 'number_literal') throw new NotPrintable('LIMIT without a number');
            n = String(this.integer(count));
          }
          const offset = c.offset ? ` OFFSET ${this.expr(c.offset as Node)}` : '';
          parts.push(`LIMIT ${n}${offset}`);
          break;
        }
        case 'paren_expr':
          parts.push(`(${this.query(c.expr as Node)})`);
          break;
        default:
          throw new NotPrintable(c.type.replace(/_clause$/, '').replace(/_/g, ' ').toUpperCase());
      }
    }
    if (limit !== null && !limited) parts.push(`LIMIT ${limit}`);
    return parts.join(' ');
  }

  private selectItem(item: Node): string {
    switch (item.type) {
      case 'all_columns':
        return '*';
      case 'except_columns': {
        const cols = ((((item.columns as Node).expr as Node).items as Node[]) ?? []).map((c) => this.name(c));
        return `${this.selectItem(item.expr as Node)} ${this.duck ? 'EXCLUDE' : 'EXCEPT'} (${cols.join(', ')})`;
      }
      case 'alias':
        return `${this.expr(item.expr as Node)} AS ${this.name(item.alias as Node)}`;
      default:
        return this.expr(item);
    }
  }

  private orderBy(c: Node): string {
    if (c.withRollupKw) throw new NotPrintable('WITH ROLLUP');
    const specs = ((c.specifications as Node).items as Node[]).map((s) => {
      if (s.type !== 'sort_specification') return this.expr(s);
      const dir = s.direction ? ((s.direction as Node).type === 'sort_direction_desc' ? ' DESC' : (s.direction as Node).type === 'sort_direction_asc' ? ' ASC' : null) : '';
      if (dir === null) throw new NotPrintable('ORDER BY USING');
      const nulls = s.nullHandlingKw ? ` ${keywordName(s.nullHandlingKw) === 'NULLS FIRST' ? 'NULLS FIRST' : 'NULLS LAST'}` : '';
      return `${this.expr(s.expr as Node)}${dir}${nulls}`;
    });
    return `ORDER BY ${specs.join(', ')}`;
  }

  // ---------------------------------------------------------------- FROM

  private tableExpr(node: Node): string {
    switch (node.type) {
      case 'join_expr': {
        const left = this.tableExpr(node.left as Node);
        const right = this.tableExpr(node.right as Node);
        if (node.operator === ',') {
          if (node.specification) throw new NotPrintable('a comma join with a condition');
          return `${left}, ${right}`;
        }
        const op = JOINS.get(keywordName(node.operator));
        if (!op) throw new NotPrintable(keywordName(node.operator) || 'this join');
        const spec = node.specification as Node | undefined;
        if (!spec) return `${left} ${op} ${right}`;
        if (spec.type === 'join_on_specification') return `${left} ${op} ${right} ON ${this.expr(spec.expr as Node)}`;
        if (spec.type === 'join_using_specification') return `${left} ${op} ${right} USING (${(((spec.expr as Node).expr as Node).items as Node[]).map((n) => this.name(n)).join(', ')})`;
        throw new NotPrintable(spec.type);
      }
      case 'alias': {
        if (node.columnAliases) throw new NotPrintable('column aliases on a table');
        const inner = node.expr as Node;
        const alias = this.name(node.alias as Node);
        // DuckDB names UNNEST's column `unnest`; BigQuery names it after the alias.
        if (inner.type === 'unnest_expr' && this.duck) return `${this.tableExpr(inner)} AS ${alias}(${alias})`;
        return `${this.tableExpr(inner)} AS ${alias}`;
      }
      case 'identifier': {
        const spelled = this.t.tables.get(node);
        if (spelled !== undefined) return spelled;
        if (this.t.ctes.has(node)) return this.name(node);
        throw new NotPrintable(`the table ${String(node.name)}`);
      }
      case 'paren_expr': {
        const inner = node.expr as Node;
        if (inner.type === 'select_stmt' || inner.type === 'compound_select_stmt') return `(${this.query(inner)})`;
        return `(${this.tableExpr(inner)})`;
      }
      case 'unnest_expr':
        return `UNNEST(${this.expr(((node.expr as Node).expr as Node))})`;
      default:
        throw new NotPrintable(node.type === 'func_call' ? `the table function ${functionName(node)}` : node.type.replace(/_/g, ' '));
    }
  }

  // ---------------------------------------------------------------- expressions

  private expr(node: Node): string {
    switch (node.type) {
      case 'identifier':
        return this.name(node);
      case 'member_expr': {
        const prop = node.property as Node;
        if (prop.type === 'all_columns') return `${this.expr(node.object as Node)}.*`;
        if (prop.type !== 'identifier') throw new NotPrintable('subscripts');
        return `${this.expr(node.object as Node)}.${this.name(prop)}`;
      }
      case 'all_columns':
        return '*';
      case 'paren_expr': {
        const inner = node.expr as Node;
        if (inner.type === 'select_stmt' || inner.type === 'compound_select_stmt') return `(${this.query(inner)})`;
        return `(${this.expr(inner)})`;
      }
      case 'list_expr':
        return ((node.items as Node[]) ?? []).map((i) => this.expr(i)).join(', ');
      case 'select_stmt':
      case 'compound_select_stmt':
        return this.query(node);
      case 'binary_expr':
        return this.binary(node);
      case 'prefix_op_expr': {
        const op = typeof node.operator === 'string' ? node.operator : keywordName(node.operator);
        if (op === 'NOT') return `NOT ${this.expr(node.expr as Node)}`;
        if (op === 'EXISTS') return `EXISTS ${this.expr(node.expr as Node)}`;
        if (op === '-') return `-(${this.expr(node.expr as Node)})`;
        throw new NotPrintable(`the operator ${op}`);
      }
      case 'between_expr': {
        const kw = keywordName(node.betweenKw);
        if (kw !== 'BETWEEN' && kw !== 'NOT BETWEEN') throw new NotPrintable(kw);
        return `${this.expr(node.left as Node)} ${kw} ${this.expr(node.begin as Node)} AND ${this.expr(node.end as Node)}`;
      }
      case 'case_expr': {
        const parts = ['CASE'];
        if (node.expr) parts.push(this.expr(node.expr as Node));
        for (const c of node.clauses as Node[]) {
          if (c.type === 'case_when') parts.push(`WHEN ${this.expr(c.condition as Node)} THEN ${this.expr(c.result as Node)}`);
          else if (c.type === 'case_else') parts.push(`ELSE ${this.expr(c.result as Node)}`);
          else throw new NotPrintable(c.type);
        }
        parts.push('END');
        return parts.join(' ');
      }
      case 'cast_expr':
        return this.cast(node);
      case 'func_call':
        return this.call(node);
      case 'extract_expr': {
        const from = (node.args as Node).expr as Node;
        const unit = from.unit as Node;
        const part = unit.type === 'interval_unit' ? EXTRACT_PARTS[keywordName(unit.unitKw)] : undefined;
        if (!part) throw new NotPrintable('this EXTRACT part');
        const x = this.expr(from.expr as Node);
        return this.duck ? part.duckdb(x) : `EXTRACT(${part.bigquery} FROM ${x})`;
      }
      case 'array_expr':
        return `[${node.expr ? this.expr(node.expr as Node) : ''}]`;
      case 'typed_expr': {
        const type = node.dataType as Node;
        if (type.type === 'parametric_data_type' && keywordName(type.typeKw) === 'ARRAY' && !type.params && (node.expr as Node).type === 'array_expr') return this.expr(node.expr as Node);
        throw new NotPrintable(keywordName((type as Node).typeKw) || 'typed values');
      }
      case 'string_literal':
        return this.string(String(node.value));
      case 'number_literal':
        return this.number(node);
      case 'boolean_literal':
        return node.value === true ? 'TRUE' : 'FALSE';
      case 'null_literal':
        return 'NULL';
      case 'timestamp_literal': {
        const ms = parseTime(String((node.string as Node).value));
        if (ms === null) throw new NotPrintable('this TIMESTAMP literal');
        return this.timestamp(ms);
      }
      case 'date_literal': {
        const text = String((node.string as Node).value).trim();
        const ms = /^\d{4}-\d{2}-\d{2}$/.test(text) ? parseTime(text) : null;
        if (ms === null) throw new NotPrintable('this DATE literal');
        return `DATE '${new Date(ms).toISOString().slice(0, 10)}'`;
      }
      case 'interval_literal':
        return this.interval(node);
      case 'parameter': {
        const name = String(node.text).replace(/^@/, '');
        if (!SIMPLE_NAME.test(name) || !String(node.text).startsWith('@')) throw new NotPrintable('this parameter');
        return this.duck ? `$${name}` : `@${name}`;
      }
      default:
        throw new NotPrintable(node.type.replace(/_/g, ' '));
    }
  }

  private binary(node: Node): string {
    const op = typeof node.operator === 'string' ? node.operator : keywordName(node.operator);
    if (!SYMBOL_OPERATORS.has(op) && !WORD_OPERATORS.has(op)) throw new NotPrintable(`the operator ${op}`);
    const left = this.expr(node.left as Node);
    const right = node.right as Node;
    if ((op === 'IN' || op === 'NOT IN') && right.type === 'unnest_expr') {
      const list = this.expr(((right.expr as Node).expr as Node));
      return this.duck ? `${left} ${op} (SELECT UNNEST(${list}))` : `${left} ${op} UNNEST(${list})`;
    }
    if ((op === 'IN' || op === 'NOT IN') && right.type !== 'paren_expr') throw new NotPrintable('IN without a list');
    return `${left} ${op} ${this.expr(right)}`;
  }

  private cast(node: Node): string {
    const arg = (node.args as Node).expr as Node;
    if (arg.format) throw new NotPrintable('CAST … FORMAT');
    const type = arg.dataType as Node;
    const spelled = type.type === 'data_type_name' ? CAST_TYPES[keywordName(type.name)] : undefined;
    if (!spelled) throw new NotPrintable('a cast to this type');
    const safe = keywordName(node.castKw) === 'SAFE_CAST';
    const kw = safe ? (this.duck ? 'TRY_CAST' : 'SAFE_CAST') : 'CAST';
    return `${kw}(${this.expr(arg.expr as Node)} AS ${spelled[this.t.dialect]})`;
  }

  private call(node: Node): string {
    const name = functionName(node);
    if (!SUPPORTED_FUNCTIONS.has(name)) throw new NotPrintable(`the function ${name}`);
    if (node.filter) throw new NotPrintable('FILTER');
    const safe = (node.name as Node).type === 'member_expr';
    if (safe && functionName({ type: 'func_call', name: ((node.name as Node).object as Node) }) !== 'SAFE') throw new NotPrintable(`the function ${name}`);
    const fargs = (node.args as Node | undefined)?.expr as Node | undefined;
    if (fargs && (fargs.nullHandlingKw || fargs.limit || fargs.having)) throw new NotPrintable('IGNORE/RESPECT NULLS, LIMIT or HAVING inside a function call');
    if (fargs?.orderBy && !ORDERED_AGGREGATES.has(name)) throw new NotPrintable(`ORDER BY inside ${name}`);
    const argNodes = callArgs(node);
    for (const a of argNodes) if (a.type === 'named_arg') throw new NotPrintable('named arguments');
    const over = node.over ? ` OVER ${this.over(node.over as Node)}` : '';
    const special = this.timeCall(name, argNodes);
    if (special !== null) {
      if (over || fargs?.distinctKw) throw new NotPrintable(`${name} with OVER or DISTINCT`);
      return special;
    }
    const args = argNodes.map((a) => (a.type === 'all_columns' ? (name === 'COUNT' ? '*' : this.refuse(`${name}(*)`)) : this.expr(a)));
    const distinct = fargs?.distinctKw ? 'DISTINCT ' : '';
    const orderBy = fargs?.orderBy ? ` ${this.orderBy(fargs.orderBy as Node)}` : '';
    if (name === 'SAFE_DIVIDE') {
      if (args.length !== 2 || distinct || over) throw new NotPrintable('SAFE_DIVIDE takes two arguments');
      if (!this.duck) return `${safe ? 'SAFE.' : ''}SAFE_DIVIDE(${args.join(', ')})`;
      return `(CASE WHEN (${args[1]}) = 0 THEN NULL ELSE (${args[0]}) / (${args[1]}) END)`;
    }
    const spelled = this.duck ? (DUCK_RENAMED[name] ?? name) : `${safe ? 'SAFE.' : ''}${name}`;
    return `${spelled}(${distinct}${args.join(', ')}${orderBy})${over}`;
  }

  private refuse(what: string): never {
    throw new NotPrintable(what);
  }

  /** The clock and calendar functions, spelled per engine; null for the rest. */
  private timeCall(name: string, args: Node[]): string | null {
    const arity = (n: number) => {
      if (args.length !== n) throw new NotPrintable(`${name} with ${args.length} argument(s)`);
    };
    switch (name) {
      case 'CURRENT_TIMESTAMP':
        arity(0);
        return this.duck ? this.timestamp(this.t.now.getTime()) : 'CURRENT_TIMESTAMP()';
      case 'CURRENT_DATE':
        arity(0);
        return this.duck ? `DATE '${this.t.now.toISOString().slice(0, 10)}'` : 'CURRENT_DATE()';
      case 'TIMESTAMP':
      case 'DATE':
        arity(1);
        return this.duck ? `CAST(${this.expr(args[0]!)} AS ${name})` : `${name}(${this.expr(args[0]!)})`;
      case 'TIMESTAMP_SUB':
      case 'TIMESTAMP_ADD':
      case 'DATE_SUB':
      case 'DATE_ADD': {
        arity(2);
        if (args[1]!.type !== 'interval_literal') throw new NotPrintable(`${name} without an INTERVAL literal`);
        const [x, interval] = [this.expr(args[0]!), this.interval(args[1]!)];
        if (!this.duck) return `${name}(${x}, ${interval})`;
        const sign = name.endsWith('_SUB') ? '-' : '+';
        return name.startsWith('DATE') ? `CAST((${x}) ${sign} ${interval} AS DATE)` : `((${x}) ${sign} ${interval})`;
      }
      case 'TIMESTAMP_TRUNC':
      case 'DATE_TRUNC': {
        arity(2);
        const [x, unit] = [this.expr(args[0]!), this.unit(args[1]!)];
        if (!this.duck) return `${name}(${x}, ${unit})`;
        const truncated = `date_trunc('${unit.toLowerCase()}', ${x})`;
        return name === 'DATE_TRUNC' ? `CAST(${truncated} AS DATE)` : truncated;
      }
      case 'TIMESTAMP_DIFF':
      case 'DATE_DIFF': {
        arity(3);
        const [a, b, unit] = [this.expr(args[0]!), this.expr(args[1]!), this.unit(args[2]!)];
        if (!this.duck) return `${name}(${a}, ${b}, ${unit})`;
        // BigQuery counts a − b. TIMESTAMP_DIFF counts whole units elapsed (DuckDB's date_sub);
        // DATE_DIFF counts unit boundaries crossed (DuckDB's date_diff). Both take (part, start, end).
        return `${name === 'TIMESTAMP_DIFF' ? 'date_sub' : 'date_diff'}('${unit.toLowerCase()}', ${b}, ${a})`;
      }
      default:
        return null;
    }
  }

  private unit(node: Node): string {
    const name = node.type === 'identifier' && !String(node.text).startsWith('`') ? String(node.name).toUpperCase() : node.type === 'interval_unit' ? keywordName(node.unitKw) : '';
    if (!TRUNC_UNITS.has(name)) throw new NotPrintable(`the date part ${name || node.type}`);
    return name;
  }

  private interval(node: Node): string {
    if (node.type !== 'interval_literal' || node.precision) throw new NotPrintable('this INTERVAL');
    const unit = node.unit as Node | undefined;
    const unitName = unit?.type === 'interval_unit' ? keywordName(unit.unitKw) : '';
    if (!INTERVAL_UNITS.has(unitName)) throw new NotPrintable(`INTERVAL … ${unitName || 'without a single unit'}`);
    const value = node.value as Node;
    const n = value.type === 'number_literal' ? Number(value.value) : value.type === 'string_literal' && /^\d{1,9}$/.test(String(value.value)) ? Number(value.value) : NaN;
    if (!Number.isSafeInteger(n) || n < 0 || n > 1e9) throw new NotPrintable('an INTERVAL that is not a whole non-negative number');
    return `INTERVAL ${n} ${unitName}`;
  }

  private over(node: Node): string {
    const w = node.window as Node;
    if (w.type === 'identifier') return this.name(w);
    return `(${this.windowDefinition(w.expr as Node)})`;
  }

  private windowDefinition(def: Node): string {
    if (def.type !== 'window_definition') throw new NotPrintable(def.type);
    const parts: string[] = [];
    if (def.baseWindowName) parts.push(this.name(def.baseWindowName as Node));
    if (def.partitionBy) parts.push(`PARTITION BY ${(((def.partitionBy as Node).specifications as Node).items as Node[]).map((e) => this.expr(e)).join(', ')}`);
    if (def.orderBy) parts.push(this.orderBy(def.orderBy as Node));
    if (def.frame) parts.push(this.frame(def.frame as Node));
    return parts.join(' ');
  }

  private frame(f: Node): string {
    const unit = keywordName(f.unitKw);
    if ((unit !== 'ROWS' && unit !== 'RANGE') || f.exclusion) throw new NotPrintable(`window frame ${unit}`);
    const bound = (b: Node): string => {
      if (b.type === 'frame_bound_current_row') return 'CURRENT ROW';
      const side = b.type === 'frame_bound_preceding' ? 'PRECEDING' : b.type === 'frame_bound_following' ? 'FOLLOWING' : null;
      if (!side) throw new NotPrintable(b.type);
      const e = b.expr as Node;
      if (e.type === 'frame_unbounded') return `UNBOUNDED ${side}`;
      if (e.type !== 'number_literal') throw new NotPrintable('a window frame offset that is not a number');
      return `${this.integer(e)} ${side}`;
    };
    const extent = f.extent as Node;
    if (extent.type === 'frame_between') return `${unit} BETWEEN ${bound(extent.begin as Node)} AND ${bound(extent.end as Node)}`;
    return `${unit} ${bound(extent)}`;
  }

  // ---------------------------------------------------------------- leaves

  /** A column, alias, CTE or window name: always the parsed name, quoted where it must be. */
  private name(node: Node): string {
    if (node.type !== 'identifier') throw new NotPrintable(`a name that is a ${node.type}`);
    const name = String(node.name);
    if (!name || INVISIBLE.test(name)) throw new NotPrintable('a name holding control or invisible characters');
    // DuckDB matches quoted names case-insensitively, so quoting every name changes nothing but
    // makes every name a name (never a keyword, never a comment opener).
    if (this.duck) return `"${name.replace(/"/g, '""')}"`;
    if (SIMPLE_NAME.test(name) && !BIGQUERY_RESERVED.has(name.toUpperCase())) return name;
    return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
  }

  /** A string value, escaped for the engine's lexer: nothing in it can end the literal early. */
  private string(value: string): string {
    if (value.includes('\u0000')) throw new NotPrintable('a string holding a NUL character');
    if (value.length > 100_000) throw new NotPrintable('a string literal over 100,000 characters');
    if (this.duck) return `'${value.replace(/'/g, "''")}'`;
    let out = '';
    for (const ch of value) {
      const code = ch.codePointAt(0)!;
      if (ch === '\\') out += '\\\\';
      else if (ch === "'") out += "\\'";
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16).padStart(4, '0')}`;
      else out += ch;
    }
    return `'${out}'`;
  }

  private number(node: Node): string {
    const text = String(node.text);
    if (!/^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new NotPrintable('this number');
    return text;
  }

  private integer(node: Node): number {
    const n = Number(node.value);
    if (!Number.isSafeInteger(n) || n < 0) throw new NotPrintable('a count that is not a whole number');
    return n;
  }

  private timestamp(ms: number): string {
    const iso = new Date(ms).toISOString();
    return this.duck ? `CAST('${iso.replace('T', ' ').replace('Z', '')}' AS TIMESTAMP)` : `TIMESTAMP '${iso.replace('T', ' ').replace('Z', '+00')}'`;
  }
}
