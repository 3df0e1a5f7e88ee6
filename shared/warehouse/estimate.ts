import { CONTRACT, FIXED_WIDTH_BYTES, type TableName } from './contract.js';

/**
 * The local stand-in for BigQuery's dry-run estimate, priced the way BigQuery bills on-demand
 * queries: for each table a query reads, the rows of the daily partitions its time filter
 * touches (all rows for unpartitioned tables or unfiltered reads) × the summed width of the
 * columns it reads. The guard supplies the scans (tables, columns read — found by the parser, so
 * a same-named column of another table no longer counts — and time ranges).
 *
 * Column width is BigQuery's logical size: 8 bytes for INT64/FLOAT64/TIMESTAMP, 1 for BOOL, 16 for
 * NUMERIC, and for STRING 2 bytes plus the column's measured average UTF-8 length.
 */
export interface TableStats {
  rowCount: number;
  /** Average UTF-8 byte length per STRING column (NULLs count as 0). */
  avgStringBytes: Record<string, number>;
}

export function columnWidth(table: TableName, column: string, stats: TableStats): number {
  const spec = CONTRACT[table].columns.find((c) => c.name === column);
  if (!spec) return 0;
  if (spec.type === 'STRING') return 2 + (stats.avgStringBytes[column] ?? 0);
  return FIXED_WIDTH_BYTES[spec.type];
}

export function estimateScanBytes(table: TableName, columns: readonly string[], rows: number, stats: TableStats): number {
  return rows * columns.reduce((sum, c) => sum + columnWidth(table, c, stats), 0);
}
