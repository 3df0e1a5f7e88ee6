import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from '../platform/logger.js';
import { CONTRACT, DUCKDB_TYPES, TABLE_NAMES, type ColumnSpec, type TableName } from './contract.js';

/**
 * Loads a folder of contract data (one `<table>.csv` or `<table>.parquet` per table, header row =
 * contract column names) into a new DuckDB file, then checks the contract: types, nullability,
 * enum values, primary keys and lower-case emails. The generator's output goes through the same
 * path, so any data that follows the contract works exactly like the demo data.
 */
export class ContractViolationError extends Error {
  override name = 'ContractViolationError';
  constructor(readonly problems: string[]) {
    super(`The data does not follow the warehouse contract:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface LoadResult {
  rows: Record<TableName, number>;
}

export function findTableFile(folder: string, table: TableName): { path: string; format: 'csv' | 'parquet' } | null {
  for (const [ext, format] of [['csv', 'csv'], ['csv.gz', 'csv'], ['parquet', 'parquet']] as const) {
    const path = join(folder, `${table}.${ext}`);
    if (existsSync(path)) return { path, format };
  }
  return null;
}

/** The header of a plain CSV file, read directly (asking DuckDB would sniff a sample of the file). */
function csvHeader(file: { path: string; format: 'csv' | 'parquet' }): string[] | null {
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

function source(file: { path: string; format: 'csv' | 'parquet' }): string {
  return file.format === 'csv' ? `read_csv(${quote(file.path)}, header = true, all_varchar = true)` : `read_parquet(${quote(file.path)})`;
}

/** The file read with every contract column typed (CSV: by name, so column order does not matter). */
function typedSource(file: { path: string; format: 'csv' | 'parquet' }, table: TableName): string {
  if (file.format === 'parquet') return source(file);
  const types = CONTRACT[table].columns.map((c) => `${quote(c.name)}: ${quote(c.type === 'TIMESTAMP' ? 'TIMESTAMPTZ' : DUCKDB_TYPES[c.type])}`).join(', ');
  return `read_csv(${quote(file.path)}, header = true, types = {${types}})`;
}

function typedExpr(c: ColumnSpec): string {
  if (c.type === 'TIMESTAMP') return `CAST(CAST(${c.name} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)`;
  return `CAST(${c.name} AS ${DUCKDB_TYPES[c.type]})`;
}

function castExpr(c: ColumnSpec): string {
  // Timestamps go through TIMESTAMPTZ so an explicit offset is honoured; the session is UTC, so
  // values without an offset are read as UTC, as the contract says they are.
  if (c.type === 'TIMESTAMP') return `CAST(TRY_CAST(${c.name} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)`;
  if (c.type === 'STRING') return `CAST(${c.name} AS VARCHAR)`;
  return `TRY_CAST(${c.name} AS ${DUCKDB_TYPES[c.type]})`;
}

async function scalar(conn: DuckDBConnection, sql: string): Promise<number> {
  const reader = await conn.runAndReadAll(sql);
  return Number(reader.getRowsJS()[0]?.[0] ?? 0);
}

export async function loadFolderIntoDuckDb(options: { folder: string; file: string; logger: Logger }): Promise<LoadResult> {
  const files = Object.fromEntries(TABLE_NAMES.map((t) => [t, findTableFile(options.folder, t)])) as Record<TableName, ReturnType<typeof findTableFile>>;
  const absent = TABLE_NAMES.filter((t) => !files[t]);
  if (absent.length) throw new ContractViolationError(absent.map((t) => `${t}: no ${t}.csv or ${t}.parquet in the folder`));

  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(options.file);
  const conn = await instance.connect();
  const problems: string[] = [];
  const rows = {} as Record<TableName, number>;
  try {
    await conn.run(`SET TimeZone = 'UTC'`);
    for (const table of TABLE_NAMES) {
      const spec = CONTRACT[table];
      const file = files[table]!;
      const header = csvHeader(file) ?? (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source(file)}`)).getRowObjectsJS().map((r) => String(r.column_name));
      const missing = spec.columns.filter((c) => !header.includes(c.name)).map((c) => c.name);
      if (missing.length) {
        problems.push(`${table}: missing column(s) ${missing.join(', ')}`);
        continue;
      }
      const extra = header.filter((h) => !spec.columns.some((c) => c.name === h));
      if (extra.length) options.logger.warn('ignoring columns that are not in the contract', { table, columns: extra });

      await conn.run(`CREATE TABLE ${table} (${spec.columns.map((c) => `${c.name} ${DUCKDB_TYPES[c.type]}`).join(', ')})`);
      // Sorting by the partition column lets DuckDB's zone maps skip row groups, like partition pruning.
      const partition = spec.columns.find((c) => c.name === spec.partitionColumn);
      try {
        // Fast path: the engine parses each column as its contract type while reading the file
        // (unparseable values become NULLs, caught by the checks below).
        const order = partition ? ` ORDER BY ${partition.name}` : '';
        await conn.run(`INSERT INTO ${table} SELECT ${spec.columns.map((c) => `${typedExpr(c)} AS ${c.name}`).join(', ')} FROM ${typedSource(file, table)}${order}`);
      } catch {
        // Some value does not parse: read everything as text to say which columns and how many.
        const stage = `stage_${table}`;
        await conn.run(`CREATE TEMP TABLE ${stage} AS SELECT ${spec.columns.map((c) => c.name).join(', ')} FROM ${source(file)}`);
        problems.push(...(await typeProblems(conn, table, stage)));
        const order = partition ? ` ORDER BY ${castExpr(partition)}` : '';
        await conn.run(`INSERT INTO ${table} SELECT ${spec.columns.map((c) => `${castExpr(c)} AS ${c.name}`).join(', ')} FROM ${stage}${order}`);
        await conn.run(`DROP TABLE ${stage}`);
      }
      rows[table] = await scalar(conn, `SELECT COUNT(*) FROM ${table}`);
      const found = await contentProblems(conn, table);
      // The typed CSV reader turns values it cannot parse into NULLs; say which values those were.
      const typed = spec.columns.filter((c) => c.type !== 'STRING').map((c) => `${table}.${c.name}:`);
      if (found.some((p) => p.includes(' NULL ') && typed.some((t) => p.startsWith(t)))) {
        const typeIssues = await typeProblems(conn, table, source(file));
        const columns = new Set(typeIssues.map((p) => p.split(':')[0]));
        problems.push(...found.filter((p) => !columns.has(p.split(':')[0])), ...typeIssues);
      } else {
        problems.push(...found);
      }
    }
    if (problems.length) throw new ContractViolationError(problems);
    await conn.run('CHECKPOINT');
    options.logger.info('loaded contract data into the local warehouse', { rows });
    return { rows };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function counts(conn: DuckDBConnection, from: string, checks: { expr: string; message: (n: number) => string }[]): Promise<string[]> {
  if (!checks.length) return [];
  const reader = await conn.runAndReadAll(`SELECT ${checks.map((c, i) => `COUNT(*) FILTER (WHERE ${c.expr}) AS c${i}`).join(', ')} FROM ${from}`);
  const row = reader.getRowsJS()[0] ?? [];
  return checks.flatMap((c, i) => (Number(row[i] ?? 0) > 0 ? [c.message(Number(row[i]))] : []));
}

/** Values that do not convert to the contract type (before they are turned into NULLs). */
function typeProblems(conn: DuckDBConnection, table: TableName, from: string): Promise<string[]> {
  const checks = CONTRACT[table].columns
    .filter((c) => c.type !== 'STRING')
    .map((c) => ({ expr: `${c.name} IS NOT NULL AND ${castExpr(c)} IS NULL`, message: (n: number) => `${table}.${c.name}: ${n} value(s) are not ${c.type}` }));
  return counts(conn, from, checks);
}

/** Nullability, enum values, lower-case emails and primary keys of the loaded table. */
async function contentProblems(conn: DuckDBConnection, table: TableName): Promise<string[]> {
  const spec = CONTRACT[table];
  const checks: { expr: string; message: (n: number) => string }[] = [];
  for (const c of spec.columns) {
    if (!c.nullable) checks.push({ expr: `${c.name} IS NULL`, message: (n) => `${table}.${c.name}: ${n} NULL value(s) in a required column` });
    if (c.enum) {
      checks.push({
        expr: `${c.name} IS NOT NULL AND ${c.name} NOT IN (${c.enum.map(quote).join(', ')})`,
        message: (n) => `${table}.${c.name}: ${n} value(s) outside ${c.enum!.join(', ')}`,
      });
    }
    if (c.piiKind === 'email') checks.push({ expr: `${c.name} <> lower(${c.name})`, message: (n) => `${table}.${c.name}: ${n} value(s) not lower-case` });
  }
  const problems = await counts(conn, table, checks);
  if (spec.primaryKey) {
    const key = spec.primaryKey.join(', ');
    const n = await scalar(conn, `SELECT COUNT(*) FROM (SELECT ${key} FROM ${table} GROUP BY ${key} HAVING COUNT(*) > 1)`);
    if (n > 0) problems.push(`${table}: ${n} duplicated primary key value(s) (${key})`);
  }
  return problems;
}
