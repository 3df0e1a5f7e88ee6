import { z } from 'zod';
import type { TableName } from './contract.js';

/**
 * The warehouse port, in two layers:
 * - `Warehouse`: what the platform uses. Every query names who asks and why, and goes through the
 *   guard (shared/guard): parsed, checked against the contract and the caller's permissions,
 *   priced, budgeted, queued, cached, run on an engine and recorded (lineage + audit).
 * - `WarehouseEngine`: DuckDB or BigQuery, reachable only from the guard. It receives SQL the guard
 *   already rewrote for it, estimates bytes, and runs with a byte cap and a timeout.
 * Rows come back in one shape from both engines (integers and decimals as numbers, TIMESTAMP as
 * ISO-8601 UTC strings, DATE as `YYYY-MM-DD`).
 */
export type ParamValue = string | number | boolean | Date | null | string[];

/** Where a query comes from; free-form SQL (`adhoc`, `proposed`) is held to stricter PII rules. */
export const QUERY_ORIGINS = ['planned', 'system', 'adhoc', 'proposed'] as const;
export type QueryOrigin = (typeof QUERY_ORIGINS)[number];

export interface QueryActor {
  /** Who asks (the investigation's creator when the agent runs on their behalf). */
  principal: string;
  roles: readonly string[];
}

export interface WarehouseQuery {
  /** Short, non-personal name of the query (job label, logs). */
  label: string;
  /** BigQuery SQL naming contract tables by their contract names, with @named parameters. */
  sql: string;
  params: Record<string, ParamValue>;
  /** Rows returned at most; more rows set `truncated`. Default 10_000. */
  maxRows?: number;
  actor: QueryActor;
  /** Default `planned`. */
  origin?: QueryOrigin;
  /** What the query is for in the audit trail, e.g. `investigations/inv_123`. */
  resource?: string | null;
  requestId?: string | null;
  /** The HTTP request behind an ad-hoc query (its audit record carries them like the request's own). */
  trace?: string | null;
  sourceIp?: string | null;
}

export const LineageSchema = z.object({
  sql_hash: z.string().regex(/^[0-9a-f]{64}$/),
  origin: z.enum(QUERY_ORIGINS),
  engine: z.enum(['duckdb', 'bigquery']),
  tables: z.array(z.string()),
  /** Contract columns read, per table. */
  columns: z.record(z.string(), z.array(z.string())),
  /** Parameters as stored: personal data masked by the contract column each is compared with. */
  params: z.record(z.string(), z.unknown()),
  estimated_bytes: z.number().min(0),
  bytes_processed: z.number().min(0).nullable(),
  budget_bytes: z.number().min(0),
  rows: z.number().int().min(0),
  truncated: z.boolean(),
  duration_ms: z.number().min(0),
  job_id: z.string().nullable(),
  cache_hit: z.boolean(),
});
export type Lineage = z.infer<typeof LineageSchema>;

export interface WarehouseResult<T = Record<string, unknown>> {
  rows: T[];
  truncated: boolean;
  /** Bytes the query is expected to read, known before it runs (dry run / local estimate); 0 on a cache hit. */
  estimatedBytes: number;
  /** Bytes the engine reports as processed; null where the engine does not measure it or on a cache hit. */
  bytesProcessed: number | null;
  durationMs: number;
  jobId: string | null;
  lineage: Lineage;
}

export interface Warehouse {
  readonly kind: 'duckdb' | 'bigquery';
  query<T = Record<string, unknown>>(q: WarehouseQuery): Promise<WarehouseResult<T>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

// ------------------------------------------------------------------------------------------------
// Engines (used by shared/guard only)

/** What a query reads of one table: the columns and, for partitioned tables, the time range. */
export interface TableScan {
  table: TableName;
  columns: string[];
  from: Date | null;
  to: Date | null;
}

export interface EngineQuery {
  label: string;
  /** SQL in the engine's own spelling, as rewritten by the guard. */
  sql: string;
  /** Exactly the parameters the SQL references. */
  params: Record<string, ParamValue>;
  scans: TableScan[];
}

export interface EngineRun extends EngineQuery {
  maxRows: number;
  /** The engine must not bill more (BigQuery maximumBytesBilled). */
  maxBytesBilled: number;
  /** The engine cancels the query after this long. */
  timeoutMs: number;
}

export interface EngineResult<T = Record<string, unknown>> {
  rows: T[];
  truncated: boolean;
  bytesProcessed: number | null;
  durationMs: number;
  jobId: string | null;
}

export interface WarehouseEngine {
  readonly kind: 'duckdb' | 'bigquery';
  /** How contract tables are spelled in SQL sent to this engine. */
  tableName(table: TableName): string;
  /** Bytes the query would read (BigQuery dry run; local: priced from scans and column sizes). */
  estimate(q: EngineQuery): Promise<number>;
  run<T = Record<string, unknown>>(q: EngineRun): Promise<EngineResult<T>>;
  /** Changes when the data may have changed (cache key); null when the engine cannot tell cheaply. */
  dataVersion(): Promise<string | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_ROWS = 10_000;
export const MAX_MAX_ROWS = 100_000;

const ParamValueSchema = z.union([z.string(), z.number().finite(), z.boolean(), z.date(), z.null(), z.array(z.string())]);

/** The guard validates every query with this before anything else. */
export const WarehouseQuerySchema = z.object({
  label: z.string().regex(/^[a-z0-9_-]{1,63}$/, 'label must be 1-63 of a-z 0-9 _ -'),
  sql: z.string().min(1).max(100_000),
  params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), ParamValueSchema),
  maxRows: z.number().int().min(1).max(MAX_MAX_ROWS).optional(),
  actor: z.object({ principal: z.string().min(1).max(320), roles: z.array(z.string()).readonly() }),
  origin: z.enum(QUERY_ORIGINS).default('planned'),
  resource: z.string().max(256).nullable().optional(),
  requestId: z.string().max(256).nullable().optional(),
  trace: z.string().max(256).nullable().optional(),
  sourceIp: z.string().max(64).nullable().optional(),
});
