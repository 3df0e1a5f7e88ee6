import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from '../platform/logger.js';
import { CONTRACT, DUCKDB_TYPES, TABLE_NAMES, isTableName, type ColumnSpec, type TableName } from './contract.js';

/**
 * Loads a folder of contract data (one `<table>.csv`, `<table>.csv.gz` or `<table>.parquet` per
 * table, header row = contract column names) into a new DuckDB file, then checks the contract:
 * missing tables and columns, values that do not parse as the column's type, required values, enum
 * values, lower-case emails, primary keys and references between tables. Every problem is reported
 * at once, by table, column and row; the file is only usable when there is none (callers build it
 * under a temporary name, so nothing is half-loaded). The generator's output goes through the same
 * path, so any data that follows the contract works exactly like the demo data.
 *
 * The usual case is valid data, so it is loaded and checked with whole-table counts first; only a
 * table with a problem is read again, as text with its row numbers, to say which rows.
 */

/** How many row numbers (and example values) a problem lists; `count` always has the total. */
export const MAX_ROWS_PER_PROBLEM = 10;

export type ProblemRule = 'missing_table' | 'missing_column' | 'type' | 'required' | 'enum' | 'lower_case' | 'primary_key' | 'reference';

export interface ContractProblem {
  table: TableName;
  /** The column at fault; null for a whole missing table. Primary keys name their (first) column. */
  column: string | null;
  rule: ProblemRule;
  /** One line for people, starting with `table.column:` or `table:`. */
  message: string;
  /** Rows affected (0 for a missing table or column). */
  count: number;
  /** The first MAX_ROWS_PER_PROBLEM rows, 1-based, counted in the file (1 = first row after the header). */
  rows: number[];
  /** The offending values of those rows, for columns that are not personal data. */
  examples?: string[];
}

export class ContractViolationError extends Error {
  override name = 'ContractViolationError';
  /** One line per problem (the `message` of each detail). */
  readonly problems: string[];
  constructor(readonly details: ContractProblem[]) {
    const problems = details.map((d) => d.message);
    super(`The data does not follow the warehouse contract:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

export interface LoadResult {
  rows: Record<TableName, number>;
}

type TableFile = { path: string; format: 'csv' | 'parquet' };

export const TABLE_FILE_EXTENSIONS = ['csv', 'csv.gz', 'parquet'] as const;

export function findTableFile(folder: string, table: TableName): TableFile | null {
  for (const ext of TABLE_FILE_EXTENSIONS) {
    const path = join(folder, `${table}.${ext}`);
    if (existsSync(path)) return { path, format: ext === 'parquet' ? 'parquet' : 'csv' };
  }
  return null;
}

/** The header of a plain CSV file, read directly (asking DuckDB would sniff a sample of the file). */
function csvHeader(file: TableFile): string[] | null {
  if (file.format !== 'csv' || file.path.endsWith('.gz')) return null;
  const fd = openSync(file.path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '');
    const end = text.search(/\r?\n/);
    if (end === -1 && n === buffer.length) return null;
    return (end === -1 ? text : text.slice(0, end)).split(',').map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
  } finally {
    closeSync(fd);
  }
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

function rawSource(file: TableFile): string {
  return file.format === 'csv' ? `read_csv(${quote(file.path)}, header = true, all_varchar = true)` : `read_parquet(${quote(file.path)})`;
}

/** The file read with every contract column typed (CSV: by name, so column order does not matter). */
function typedSource(file: TableFile, table: TableName): string {
  if (file.format === 'parquet') return rawSource(file);
  const types = CONTRACT[table].columns.map((c) => `${quote(c.name)}: ${quote(c.type === 'TIMESTAMP' ? 'TIMESTAMPTZ' : DUCKDB_TYPES[c.type])}`).join(', ');
  return `read_csv(${quote(file.path)}, header = true, types = {${types}})`;
}

function typedExpr(c: ColumnSpec): string {
  if (c.type === 'TIMESTAMP') return `CAST(CAST(${c.name} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)`;
  return `CAST(${c.name} AS ${DUCKDB_TYPES[c.type]})`;
}

/** The contract value of a text column of the stage; NULL when it does not parse. */
function castExpr(c: ColumnSpec): string {
  // Timestamps go through TIMESTAMPTZ so an explicit offset is honoured; the session is UTC, so
  // values without an offset are read as UTC, as the contract says they are.
  if (c.type === 'TIMESTAMP') return `CAST(TRY_CAST(${c.name} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)`;
  if (c.type === 'STRING') return c.name;
  return `TRY_CAST(${c.name} AS ${DUCKDB_TYPES[c.type]})`;
}

async function scalar(conn: DuckDBConnection, sql: string): Promise<number> {
  const reader = await conn.runAndReadAll(sql);
  return Number(reader.getRowsJS()[0]?.[0] ?? 0);
}

/** One rule of the contract as a predicate on a row, true when the row breaks it. */
interface Check {
  table: TableName;
  column: string;
  rule: Exclude<ProblemRule, 'missing_table' | 'missing_column'>;
  /** The predicate on the loaded (typed) table; undefined when only the stage can tell (types). */
  loaded?: string;
  /** The same predicate on the stage (every column as text, `_row` = row number in the file). */
  staged: string;
  /** `keys`: distinct duplicated values, for primary keys. */
  message: (n: number, keys: number) => string;
}

function checksFor(table: TableName, loaded: ReadonlySet<TableName>): Check[] {
  const spec = CONTRACT[table];
  const checks: Check[] = [];
  for (const c of spec.columns) {
    if (c.type !== 'STRING') {
      checks.push({ table, column: c.name, rule: 'type', staged: `${c.name} IS NOT NULL AND ${castExpr(c)} IS NULL`, message: (n) => `${table}.${c.name}: ${n} value(s) are not ${c.type}` });
    }
    if (!c.nullable) {
      checks.push({ table, column: c.name, rule: 'required', loaded: `${c.name} IS NULL`, staged: `${c.name} IS NULL`, message: (n) => `${table}.${c.name}: ${n} NULL value(s) in a required column` });
    }
    if (c.enum) {
      const expr = `${c.name} IS NOT NULL AND ${c.name} NOT IN (${c.enum.map(quote).join(', ')})`;
      checks.push({ table, column: c.name, rule: 'enum', loaded: expr, staged: expr, message: (n) => `${table}.${c.name}: ${n} value(s) outside ${c.enum!.join(', ')}` });
    }
    if (c.piiKind === 'email') {
      const expr = `${c.name} <> lower(${c.name})`;
      checks.push({ table, column: c.name, rule: 'lower_case', loaded: expr, staged: expr, message: (n) => `${table}.${c.name}: ${n} value(s) not lower-case` });
    }
    if (c.references) {
      const [target, targetColumn] = c.references.split('.') as [string, string];
      // A reference into a table that could not be loaded is not checked: that table's own problem says why.
      if (isTableName(target) && loaded.has(target)) {
        const missing = (col: string) => `${col} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${target} ref WHERE ref.${targetColumn} = ${col})`;
        checks.push({
          table, column: c.name, rule: 'reference', loaded: missing(`${table}.${c.name}`), staged: missing(`stage.${c.name}`),
          message: (n) => `${table}.${c.name}: ${n} value(s) not found in ${c.references}`,
        });
      }
    }
  }
  if (spec.primaryKey) {
    const key = spec.primaryKey.join(', ');
    const dup = (from: string) => `(${key}) IN (SELECT (${key}) FROM ${from} GROUP BY ${key} HAVING COUNT(*) > 1)`;
    checks.push({
      table, column: spec.primaryKey[0]!, rule: 'primary_key', loaded: dup(table), staged: dup('stage'),
      message: (n, keys) => `${table}: ${keys} duplicated primary key value(s) (${key}) on ${n} rows`,
    });
  }
  return checks;
}

export async function loadFolderIntoDuckDb(options: { folder: string; file: string; logger: Logger }): Promise<LoadResult> {
  const files = Object.fromEntries(TABLE_NAMES.map((t) => [t, findTableFile(options.folder, t)])) as Record<TableName, TableFile | null>;
  const problems: ContractProblem[] = [];
  for (const t of TABLE_NAMES.filter((t) => !files[t])) {
    problems.push({ table: t, column: null, rule: 'missing_table', message: `${t}: no ${t}.csv, ${t}.csv.gz or ${t}.parquet in the folder`, count: 0, rows: [] });
  }

  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(options.file);
  const conn = await instance.connect();
  const rows = {} as Record<TableName, number>;
  /** Tables in the file, and those whose values did not all parse (their rows come from the stage). */
  const loaded = new Set<TableName>();
  const unparsed = new Set<TableName>();
  try {
    await conn.run(`SET TimeZone = 'UTC'`);
    for (const table of TABLE_NAMES) {
      const file = files[table];
      if (!file) continue;
      const spec = CONTRACT[table];
      let header: string[];
      try {
        header = csvHeader(file) ?? (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${rawSource(file)}`)).getRowObjectsJS().map((r) => String(r.column_name));
      } catch {
        problems.push({ table, column: null, rule: 'missing_table', message: `${table}: ${file.path} cannot be read as ${file.format === 'csv' ? 'CSV' : 'Parquet'}`, count: 0, rows: [] });
        continue;
      }
      const missing = spec.columns.filter((c) => !header.includes(c.name));
      for (const c of missing) {
        problems.push({ table, column: c.name, rule: 'missing_column', message: `${table}: missing column(s) ${c.name} (${c.type}${c.nullable ? ', nullable' : ''})`, count: 0, rows: [] });
      }
      if (missing.length) continue;
      const extra = header.filter((h) => !spec.columns.some((c) => c.name === h));
      if (extra.length) options.logger.warn('ignoring columns that are not in the contract', { table, columns: extra });

      await conn.run(`CREATE TABLE ${table} (${spec.columns.map((c) => `${c.name} ${DUCKDB_TYPES[c.type]}`).join(', ')})`);
      // Sorting by the partition column lets DuckDB's zone maps skip row groups, like partition pruning.
      const order = spec.partitionColumn ? ` ORDER BY ${spec.partitionColumn}` : '';
      try {
        await conn.run(`INSERT INTO ${table} SELECT ${spec.columns.map((c) => `${typedExpr(c)} AS ${c.name}`).join(', ')} FROM ${typedSource(file, table)}${order}`);
      } catch {
        // Some value does not parse: keep what does (as NULLs otherwise) so references into this
        // table can still be checked; the stage below says which rows did not parse.
        unparsed.add(table);
        await stage(conn, table, file);
        const cols = spec.columns.map((c) => `${castExpr(c)} AS ${c.name}`).join(', ');
        await conn.run(`INSERT INTO ${table} SELECT ${cols} FROM stage${order ? ` ORDER BY ${castExpr(spec.columns.find((c) => c.name === spec.partitionColumn)!)}` : ''}`);
        await conn.run('DROP TABLE stage');
      }
      loaded.add(table);
      rows[table] = await scalar(conn, `SELECT COUNT(*) FROM ${table}`);
    }

    // Whole-table counts first; a table is staged (read again with row numbers) only when needed.
    for (const table of TABLE_NAMES.filter((t) => loaded.has(t))) {
      const checks = checksFor(table, loaded);
      let failing = unparsed.has(table) ? checks : await failingChecks(conn, table, checks);
      if (!failing.length) continue;
      // The typed CSV reader may turn a value it cannot parse into NULL rather than fail; every typed
      // column of the contract is required, so that shows as a NULL above, and the stage tells which.
      failing = checks.filter((c) => c.rule === 'type' || failing.includes(c));
      await stage(conn, table, files[table]!);
      try {
        for (const check of failing) {
          const problem = await locate(conn, check);
          if (problem) problems.push(problem);
        }
      } finally {
        await conn.run('DROP TABLE stage');
      }
    }
    if (problems.length) throw new ContractViolationError(sortProblems(problems));
    await conn.run('CHECKPOINT');
    options.logger.info('loaded contract data into the local warehouse', { rows });
    return { rows };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The table's file as text columns plus `_row`, its 1-based row number in the file. */
async function stage(conn: DuckDBConnection, table: TableName, file: TableFile): Promise<void> {
  const columns = CONTRACT[table].columns.map((c) => `CAST(${ident(c.name)} AS VARCHAR) AS ${c.name}`).join(', ');
  if (file.format === 'parquet') {
    await conn.run(`CREATE TEMP TABLE stage AS SELECT file_row_number + 1 AS _row, ${columns} FROM read_parquet(${quote(file.path)}, file_row_number = true)`);
  } else {
    // A table keeps insertion order, so rowid is the row's position in the file.
    await conn.run(`CREATE TEMP TABLE stage_read AS SELECT ${columns} FROM ${rawSource(file)}`);
    await conn.run(`CREATE TEMP TABLE stage AS SELECT rowid + 1 AS _row, * FROM stage_read`);
    await conn.run('DROP TABLE stage_read');
  }
}

async function failingChecks(conn: DuckDBConnection, table: TableName, checks: Check[]): Promise<Check[]> {
  const countable = checks.filter((c) => c.loaded);
  if (!countable.length) return [];
  const reader = await conn.runAndReadAll(`SELECT ${countable.map((c, i) => `COUNT(*) FILTER (WHERE ${c.loaded}) AS c${i}`).join(', ')} FROM ${table}`);
  const row = reader.getRowsJS()[0] ?? [];
  return countable.filter((_, i) => Number(row[i] ?? 0) > 0);
}

async function locate(conn: DuckDBConnection, check: Check): Promise<ContractProblem | null> {
  const spec = CONTRACT[check.table].columns.find((c) => c.name === check.column)!;
  const reader = await conn.runAndReadAll(
    `SELECT COUNT(*) AS n, list(_row ORDER BY _row)[1:${MAX_ROWS_PER_PROBLEM}] AS rows, list(${check.column} ORDER BY _row)[1:${MAX_ROWS_PER_PROBLEM}] AS vals, COUNT(DISTINCT ${check.column}) AS keys
     FROM stage WHERE ${check.staged}`,
  );
  const row = reader.getRowObjectsJS()[0];
  const count = Number(row?.n ?? 0);
  if (!count) return null;
  const rows = ((row?.rows as unknown[] | null) ?? []).map(Number);
  // Personal data stays out of the report; other values help find the mistake.
  const examples = spec.pii || check.rule === 'required' ? undefined : ((row?.vals as unknown[] | null) ?? []).map((v) => String(v));
  return { table: check.table, column: check.column, rule: check.rule, message: check.message(count, Number(row?.keys ?? 0)), count, rows, ...(examples ? { examples } : {}) };
}

function sortProblems(problems: ContractProblem[]): ContractProblem[] {
  const tableIndex = (t: TableName) => TABLE_NAMES.indexOf(t);
  const columnIndex = (p: ContractProblem) => (p.column === null ? -1 : CONTRACT[p.table].columns.findIndex((c) => c.name === p.column));
  return [...problems].sort((a, b) => tableIndex(a.table) - tableIndex(b.table) || columnIndex(a) - columnIndex(b));
}
