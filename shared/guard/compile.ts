import type { Program } from 'sql-parser-cst';
import type { TableName } from '../warehouse/contract.js';
import type { ParamValue, QueryActor, QueryOrigin, TableScan } from '../warehouse/port.js';
import { analyse, type Analysis } from './analyse.js';
import { normaliseSql } from './normalise.js';
import { MAX_DEPTH, parseBigQuery, treeDepth } from './parse.js';
import { checkQuery, STRUCTURAL_RULES, type Refusal, type WindowPolicy } from './rules.js';
import { NotPrintable, renderFor, type EngineSpelling } from './translate.js';
import { createHash } from 'node:crypto';

/**
 * The pure half of the guard: text → parse (BigQuery dialect) → analysis → the rules it breaks,
 * plus what the I/O half needs: the tables and columns read, the scans to price, the normalised
 * text and hash, and a renderer for the engine. Anything the parser cannot read is refused as
 * `unparseable` (no best-effort fallback); anything the printer cannot print from the tree for
 * both engines (translate.ts) as `syntax-not-allowed`, so what runs is always printed, never copied.
 */
export interface CompileInput {
  sql: string;
  params: Record<string, ParamValue>;
  actor: QueryActor;
  origin: QueryOrigin;
  policy: WindowPolicy;
  now: Date;
}

export interface CompiledQuery {
  analysis: Analysis;
  /** Empty when the query may run (budget aside). */
  refusals: Refusal[];
  /** True when the structure was readable, so the query can at least be priced. */
  priceable: boolean;
  normalisedSql: string;
  sqlHash: string;
  tables: TableName[];
  columns: Record<string, string[]>;
  scans: TableScan[];
  /** Exactly the referenced parameters (unreferenced ones are dropped: engines reject them). */
  params: Record<string, ParamValue>;
  render(spelling: EngineSpelling, limit: number): string;
}

export class UnparseableSql extends Error {}

export function compileQuery(input: CompileInput): CompiledQuery {
  let program: Program;
  try {
    program = parseBigQuery(input.sql);
  } catch (error) {
    // The parser's message quotes the text; keep only where it stopped.
    const where = /line (\d+), column (\d+)/i.exec(error instanceof Error ? error.message : '');
    throw new UnparseableSql(where ? `The SQL could not be parsed as BigQuery (line ${where[1]}, column ${where[2]}).` : 'The SQL could not be parsed as BigQuery.');
  }
  if (treeDepth(program) > MAX_DEPTH) throw new UnparseableSql(`The SQL nests deeper than the guard reads (${MAX_DEPTH} levels).`);
  const analysis = analyse(program, { params: input.params, now: input.now });
  let refusals = checkQuery(analysis, input);
  if (!refusals.some((r) => STRUCTURAL_RULES.has(r.rule))) {
    const unprintable = printability(program, analysis, input.now);
    if (unprintable) refusals = [{ rule: 'syntax-not-allowed', detail: `Not in the accepted SQL subset: ${unprintable}.` }];
  }
  const structural = refusals.length === 1 && STRUCTURAL_RULES.has(refusals[0]!.rule);
  const unbound = refusals.some((r) => r.rule === 'unbound-parameter');
  const normalisedSql = normaliseSql(input.sql, program);
  const tables = [...new Set(analysis.tables.map((t) => t.table))];
  const columns = Object.fromEntries([...analysis.columns].map(([t, cols]) => [t, [...cols].sort()]));
  const scans: TableScan[] = tables.map((table) => {
    const uses = analysis.tables.filter((u) => u.table === table);
    const from = uses.some((u) => u.from === null) ? null : Math.min(...uses.map((u) => u.from!));
    const to = uses.some((u) => u.to === null) ? null : Math.max(...uses.map((u) => u.to!));
    return { table, columns: [...(analysis.columns.get(table) ?? [])].sort(), from: from === null ? null : new Date(from), to: to === null ? null : new Date(to) };
  });
  const params = Object.fromEntries(analysis.params.filter((p) => p in input.params).map((p) => [p, input.params[p] as ParamValue]));
  return {
    analysis,
    refusals,
    priceable: !structural && !unbound,
    normalisedSql,
    sqlHash: createHash('sha256').update(normalisedSql).digest('hex'),
    tables,
    columns,
    scans,
    params,
    render(spelling, limit) {
      return renderFor(program, analysis, spelling, limit);
    },
  };
}

/** What keeps the query from being printed for either engine, or null when both can run it. */
function printability(program: Program, analysis: Analysis, now: Date): string | null {
  try {
    renderFor(program, analysis, { kind: 'duckdb', now }, 1);
    renderFor(program, analysis, { kind: 'bigquery', table: (t) => t }, 1);
    return null;
  } catch (error) {
    if (error instanceof NotPrintable) return error.message;
    throw error;
  }
}
