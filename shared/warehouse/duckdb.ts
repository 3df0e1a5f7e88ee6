import { existsSync } from 'node:fs';
import type { DuckDBConnection, DuckDBInstance, DuckDBType, DuckDBValue, DuckDBValueConverter } from '@duckdb/node-api';
import type { Logger } from '../platform/logger.js';
import { CONTRACT, TABLE_NAMES, type TableName } from './contract.js';
import { WarehouseBudgetError, WarehouseQueryError, WarehouseUnavailableError } from './errors.js';
import { estimateBytes, type TableStats } from './estimate.js';
import { DEFAULT_MAX_ROWS, WarehouseQuerySchema, type ParamValue, type Warehouse, type WarehouseQuery, type WarehouseResult } from './port.js';
import { bindParams, parseTemplate, renderTemplate } from './sql.js';

type Duck = typeof import('@duckdb/node-api');

export interface DuckDbWarehouseOptions {
  /** The local warehouse file (`<dataDir>/warehouse/warehouse.duckdb`). */
  file: string;
  logger: Logger;
  /** Queries whose estimate exceeds this are refused before they run. */
  maxBytesPerQuery: number;
}

/**
 * The embedded warehouse: DuckDB over a file loaded with contract data. The file is opened
 * read-only on first use (so no template can change data, and several readers may share it) and
 * each query gets its own connection on the cached instance.
 */
export function createDuckDbWarehouse(options: DuckDbWarehouseOptions): Warehouse {
  let opened: Promise<{ duck: Duck; instance: DuckDBInstance }> | null = null;
  const stats = new Map<TableName, Promise<TableStats>>();

  const open = () =>
    (opened ??= (async () => {
      if (!existsSync(options.file)) {
        throw new WarehouseUnavailableError('The local warehouse has not been generated yet; start the local stack (npm start) to create it.');
      }
      const duck = await import('@duckdb/node-api');
      try {
        const instance = await duck.DuckDBInstance.create(options.file, { access_mode: 'READ_ONLY' });
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

  return {
    kind: 'duckdb',

    async query<T = Record<string, unknown>>(input: WarehouseQuery): Promise<WarehouseResult<T>> {
      const q = WarehouseQuerySchema.parse(input);
      const maxRows = q.maxRows ?? DEFAULT_MAX_ROWS;
      const parsed = parseTemplate(q.sql);
      const params = bindParams(parsed, q.params);
      const sql = renderTemplate(parsed, { table: (name) => name, param: (name) => '$' + name });

      const allStats = Object.fromEntries(await Promise.all(parsed.tables.map(async (t) => [t, await tableStats(t)] as const)));
      const estimatedBytes = estimateBytes(parsed, allStats);
      if (estimatedBytes > options.maxBytesPerQuery) throw new WarehouseBudgetError(q.label, estimatedBytes, options.maxBytesPerQuery);

      const started = performance.now();
      try {
        const rows = await withConnection(async (conn, duck) => {
          const { values, types } = toDuckParams(duck, params);
          const result = await conn.stream(sql, values, types);
          const names = result.deduplicatedColumnNames();
          const convert = rowConverter(duck);
          const out: Record<string, unknown>[] = [];
          while (out.length <= maxRows) {
            const chunk = await result.fetchChunk();
            if (!chunk || chunk.rowCount === 0) break;
            for (const values of chunk.convertRows(convert)) {
              out.push(Object.fromEntries(names.map((n, i) => [n, values[i] ?? null])));
            }
          }
          return out;
        });
        const durationMs = Math.round(performance.now() - started);
        const truncated = rows.length > maxRows;
        options.logger.debug('warehouse query', { query: q.label, rows: Math.min(rows.length, maxRows), truncated, estimated_bytes: estimatedBytes, duration_ms: durationMs });
        return { rows: rows.slice(0, maxRows) as T[], truncated, estimatedBytes, bytesProcessed: null, durationMs, jobId: null };
      } catch (error) {
        if (error instanceof WarehouseUnavailableError) throw error;
        options.logger.error('warehouse query failed', error, { query: q.label });
        throw new WarehouseQueryError(q.label, engineReason(error));
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
