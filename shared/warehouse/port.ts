import { z } from 'zod';

/**
 * The warehouse port. SQL is written once, in a BigQuery-compatible subset that DuckDB also runs
 * (see sql.ts): named parameters `@name`, contract tables as `{{table}}` markers. Adapters map the
 * markers and parameters, estimate bytes before running, and return rows in one normalised shape
 * (integers and decimals as numbers, TIMESTAMP as ISO-8601 UTC strings, DATE as `YYYY-MM-DD`).
 */
export type ParamValue = string | number | boolean | Date | null | string[];

export interface WarehouseQuery {
  /** Short, non-personal name of the query (job label, logs). */
  label: string;
  sql: string;
  params: Record<string, ParamValue>;
  /** Rows returned at most; more rows set `truncated`. Default 10_000. */
  maxRows?: number;
}

export interface WarehouseResult<T = Record<string, unknown>> {
  rows: T[];
  truncated: boolean;
  /** Bytes the query is expected to read, known before it runs (dry run / local estimate). */
  estimatedBytes: number;
  /** Bytes the engine reports as processed; null where the engine does not measure it. */
  bytesProcessed: number | null;
  durationMs: number;
  jobId: string | null;
}

export interface Warehouse {
  readonly kind: 'duckdb' | 'bigquery';
  query<T = Record<string, unknown>>(q: WarehouseQuery): Promise<WarehouseResult<T>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_ROWS = 10_000;
export const MAX_MAX_ROWS = 100_000;

const ParamValueSchema = z.union([z.string(), z.number().finite(), z.boolean(), z.date(), z.null(), z.array(z.string())]);

/** Both adapters validate their input with this before touching the engine. */
export const WarehouseQuerySchema = z.object({
  label: z.string().regex(/^[a-z0-9_-]{1,63}$/, 'label must be 1-63 of a-z 0-9 _ -'),
  sql: z.string().min(1).max(100_000),
  params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), ParamValueSchema),
  maxRows: z.number().int().min(1).max(MAX_MAX_ROWS).optional(),
});
