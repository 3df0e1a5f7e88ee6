import { existsSync, statSync } from 'node:fs';
import type { DuckDBConnection, DuckDBInstance, DuckDBType, DuckDBValue, DuckDBValueConverter } from '@duckdb/node-api';
import type { Logger } from '../platform/logger.js';
import { CONTRACT, TABLE_NAMES, type TableName } from './contract.js';
import { WarehouseQueryError, WarehouseTimeoutError, WarehouseUnavailableError } from './errors.js';
import { estimateScanBytes, type TableStats } from './estimate.js';
import type { EngineQuery, EngineResult, EngineRun, ParamValue, WarehouseEngine } from './port.js';

type Duck = typeof import('@duckdb/node-api');

export interface DuckDbEngineOptions {
  /** The local warehouse file (`<dataDir>/warehouse/warehouse.duckdb`). */
  file: string;
  logger: Logger;
}

const DAY_MS = 86_400_000;

/**
 * The instance's settings, fixed when it is created: the warehouse file is the only file it may
 * touch (opened read-only as the main database before the lock applies), so no SQL can read host
 * files (`read_text`, `read_csv`, `glob`), write them (`COPY`), open other databases (`ATTACH`),
 * fetch or load extensions, reach the network, or change a setting (`SET`, `RESET`, `PRAGMA x=y`)
 * — even if some text ever got past the guard's parser and printer.
 */
export const LOCKED_DOWN: Record<string, string> = {
  access_mode: 'READ_ONLY',
  enable_external_access: 'false',
  autoload_known_extensions: 'false',
  autoinstall_known_extensions: 'false',
  allow_community_extensions: 'false',
  lock_configuration: 'true',
};

/**
 * The embedded engine: DuckDB over a file loaded with contract data, reachable only through the
 * guard, which hands it SQL already translated to DuckDB. The file is opened read-only on first
 * use (nothing can change data; several readers may share it) and each query gets its own
 * connection on the cached instance, interrupted when it outlives its timeout.
 */
export function createDuckDbEngine(options: DuckDbEngineOptions): WarehouseEngine {
  let opened: Promise<{ duck: Duck; instance: DuckDBInstance }> | null = null;
  const stats = new Map<TableName, Promise<TableStats>>();

  const open = () =>
    (opened ??= (async () => {
      if (!existsSync(options.file)) {
        throw new WarehouseUnavailableError('The local warehouse has not been generated yet; start the local stack (npm start) to create it.');
      }
      const duck = await import('@duckdb/node-api');
      try {
        const instance = await duck.DuckDBInstance.create(options.file, LOCKED_DOWN);
        return { duck, instance };
      } catch (error) {
        options.logger.error('cannot open the local warehouse', error);
        throw new WarehouseUnavailableError('The local warehouse file cannot be opened (is another process writing it?).');
      }
    })().catch((error) => {
      opened = null;
      throw error;
    }));

  const withConnection = async <R>(fn: (conn: DuckDBConnection, duck: Duck) => Promise<R>): Promise<R> => {
    const { duck, instance } = await open();
    const conn = await instance.connect();
    try {
      return await fn(conn, duck);
    } finally {
      conn.closeSync();
    }
  };

  const tableStats = (table: TableName): Promise<TableStats> => {
    let s = stats.get(table);
    if (!s) {
      s = withConnection((conn) => readStats(conn, table));
      s.catch(() => stats.delete(table));
      stats.set(table, s);
    }
    return s;
  };

  const ranges = new Map<string, Promise<number>>();
  /** Rows of the daily partitions a time range touches (BigQuery prunes whole days); cached per day range. */
  const rowsInRange = (table: TableName, from: Date | null, to: Date | null): Promise<number> => {
    const column = CONTRACT[table].partitionColumn;
    if (!column || (!from && !to)) return tableStats(table).then((s) => s.rowCount);
    const key = `${table}|${from ? Math.floor(from.getTime() / DAY_MS) : ''}|${to ? Math.floor(to.getTime() / DAY_MS) : ''}`;
    let cached = ranges.get(key);
    if (!cached) {
      cached = countRange(table, column, from, to);
      cached.catch(() => ranges.delete(key));
      ranges.set(key, cached);
    }
    return cached;
  };

  const countRange = (table: TableName, column: string, from: Date | null, to: Date | null): Promise<number> => {
    return withConnection(async (conn, duck) => {
      const where: string[] = [];
      const values: Record<string, DuckDBValue> = {};
      const types: Record<string, DuckDBType> = {};
      if (from) {
        where.push(`${column} >= $lo`);
        values.lo = duck.timestampValue(BigInt(Math.floor(from.getTime() / DAY_MS) * DAY_MS) * 1000n);
        types.lo = duck.TIMESTAMP;
      }
      if (to) {
        where.push(`${column} < $hi`);
        values.hi = duck.timestampValue(BigInt((Math.floor(to.getTime() / DAY_MS) + 1) * DAY_MS) * 1000n);
        types.hi = duck.TIMESTAMP;
      }
      const reader = await conn.runAndReadAll(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where.join(' AND ')}`, values, types);
      return Number(reader.getRowObjectsJS()[0]?.n ?? 0);
    });
  };

  return {
    kind: 'duckdb',

    tableName: (table) => table,

    async estimate(q: EngineQuery): Promise<number> {
      let total = 0;
      for (const scan of q.scans) {
        const [s, rows] = await Promise.all([tableStats(scan.table), rowsInRange(scan.table, scan.from, scan.to)]);
        total += estimateScanBytes(scan.table, scan.columns, rows, s);
      }
      return Math.round(total);
    },

    async run<T = Record<string, unknown>>(q: EngineRun): Promise<EngineResult<T>> {
      const started = performance.now();
      let timedOut = false;
      try {
        const rows = await withConnection(async (conn, duck) => {
          const timer = setTimeout(() => {
            timedOut = true;
            conn.interrupt();
          }, q.timeoutMs);
          try {
            const { values, types } = toDuckParams(duck, q.params);
            const result = await conn.stream(q.sql, values, types);
            const names = result.deduplicatedColumnNames();
            const convert = rowConverter(duck);
            const out: Record<string, unknown>[] = [];
            while (out.length <= q.maxRows) {
              const chunk = await result.fetchChunk();
              if (!chunk || chunk.rowCount === 0) break;
              for (const values of chunk.convertRows(convert)) {
                out.push(Object.fromEntries(names.map((n, i) => [n, values[i] ?? null])));
              }
            }
            return out;
          } finally {
            clearTimeout(timer);
          }
        });
        const durationMs = Math.round(performance.now() - started);
        const truncated = rows.length > q.maxRows;
        return { rows: rows.slice(0, q.maxRows) as T[], truncated, bytesProcessed: null, durationMs, jobId: null };
      } catch (error) {
        if (timedOut) throw new WarehouseTimeoutError(q.label, q.timeoutMs);
        if (error instanceof WarehouseUnavailableError) throw error;
        options.logger.error('warehouse query failed', error, { query: q.label });
        throw new WarehouseQueryError(q.label, engineReason(error));
      }
    },

    async dataVersion() {
      try {
        const s = statSync(options.file);
        return `${s.mtimeMs}:${s.size}`;
      } catch {
        return null;
      }
    },

    async ping() {
      await withConnection(async (conn) => {
        const reader = await conn.runAndReadAll(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'`);
        const present = new Set(reader.getRowObjectsJS().map((r) => String(r.table_name)));
        const missing = TABLE_NAMES.filter((t) => !present.has(t));
        if (missing.length) throw new WarehouseUnavailableError(`The local warehouse lacks table(s): ${missing.join(', ')}.`);
      });
    },

    async close() {
      const current = opened;
      opened = null;
      stats.clear();
      ranges.clear();
      if (!current) return;
      try {
        (await current).instance.closeSync();
      } catch {
        // It never opened; nothing to close.
      }
    },
  };
}

/** The DuckDB error class ("Binder Error", "Conversion Error", …) — safe to show, unlike the message. */
function engineReason(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const kind = /^([A-Za-z ]{3,40} Error):/.exec(message)?.[1];
  return kind ? `the local engine raised a ${kind}` : 'the local engine rejected the query';
}

async function readStats(conn: DuckDBConnection, table: TableName): Promise<TableStats> {
  const strings = CONTRACT[table].columns.filter((c) => c.type === 'STRING').map((c) => c.name);
  const select = ['COUNT(*) AS row_count', ...strings.map((c) => `AVG(COALESCE(strlen(${c}), 0)) AS ${c}`)].join(', ');
  let row: Record<string, unknown>;
  try {
    const reader = await conn.runAndReadAll(`SELECT ${select} FROM ${table}`);
    row = reader.getRowObjectsJS()[0] ?? {};
  } catch {
    throw new WarehouseUnavailableError(`The local warehouse lacks table ${table} or one of its contract columns.`);
  }
  return {
    rowCount: Number(row.row_count ?? 0),
    avgStringBytes: Object.fromEntries(strings.map((c) => [c, Number(row[c] ?? 0)])),
  };
}

function toDuckParams(duck: Duck, params: Record<string, ParamValue>): { values: Record<string, DuckDBValue>; types: Record<string, DuckDBType | undefined> } {
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType | undefined> = {};
  for (const [name, v] of Object.entries(params)) {
    if (v === null) {
      values[name] = null;
      types[name] = duck.VARCHAR;
    } else if (Array.isArray(v)) {
      values[name] = duck.listValue(v);
      types[name] = duck.LIST(duck.VARCHAR);
    } else if (v instanceof Date) {
      values[name] = duck.timestampValue(BigInt(v.getTime()) * 1000n);
      types[name] = duck.TIMESTAMP;
    } else if (typeof v === 'number') {
      values[name] = Number.isInteger(v) ? BigInt(v) : v;
      types[name] = Number.isInteger(v) ? duck.BIGINT : duck.DOUBLE;
    } else if (typeof v === 'boolean') {
      values[name] = v;
      types[name] = duck.BOOLEAN;
    } else {
      values[name] = v;
      types[name] = duck.VARCHAR;
    }
  }
  return { values, types };
}

/**
 * DuckDB values → the port's row shape, matching what the BigQuery adapter returns: integers and
 * decimals as numbers, TIMESTAMP as ISO-8601 UTC (millisecond precision), DATE as YYYY-MM-DD.
 */
function rowConverter(duck: Duck): DuckDBValueConverter<unknown> {
  const base = duck.JSDuckDBValueConverter as DuckDBValueConverter<unknown>;
  const id = duck.DuckDBTypeId;
  const convert: DuckDBValueConverter<unknown> = (value, type, self) => {
    if (value === null) return null;
    switch (type.typeId) {
      case id.TIMESTAMP:
      case id.TIMESTAMP_TZ:
      case id.TIMESTAMP_S:
      case id.TIMESTAMP_MS:
      case id.TIMESTAMP_NS:
        return (base(value, type, self) as Date).toISOString();
      case id.DATE:
        return (base(value, type, self) as Date).toISOString().slice(0, 10);
      case id.BIGINT:
      case id.HUGEINT:
      case id.UBIGINT:
      case id.UHUGEINT:
        return Number(base(value, type, self) as bigint);
      default:
        return base(value, type, self);
    }
  };
  return convert;
}
