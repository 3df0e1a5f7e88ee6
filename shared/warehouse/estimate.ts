import { CONTRACT, FIXED_WIDTH_BYTES, type TableName } from './contract.js';
import type { ParsedTemplate } from './sql.js';

/**
 * The local stand-in for BigQuery's dry-run estimate, priced the way BigQuery bills on-demand
 * queries: bytes of the columns a query references, over all rows of each referenced table.
 *
 * - A column counts as referenced when its name appears as an identifier in the template (an
 *   over-approximation: a same-named column of another table also counts). `SELECT *` or `t.*`
 *   counts every column.
 * - Column width is BigQuery's logical size: 8 bytes for INT64/FLOAT64/TIMESTAMP, 1 for BOOL, 16
 *   for NUMERIC, and for STRING 2 bytes plus the column's measured average UTF-8 length.
 * - Partition pruning is not modelled, so the estimate is an upper bound on what BigQuery would
 *   bill for the same query on the same data.
 */
export interface TableStats {
  rowCount: number;
  /** Average UTF-8 byte length per STRING column (NULLs count as 0). */
  avgStringBytes: Record<string, number>;
}

export function referencedColumns(table: TableName, parsed: Pick<ParsedTemplate, 'identifiers' | 'selectsStar'>): string[] {
  return CONTRACT[table].columns.filter((c) => parsed.selectsStar || parsed.identifiers.has(c.name.toLowerCase())).map((c) => c.name);
}

export function columnWidth(table: TableName, column: string, stats: TableStats): number {
  const spec = CONTRACT[table].columns.find((c) => c.name === column);
  if (!spec) return 0;
  if (spec.type === 'STRING') return 2 + (stats.avgStringBytes[column] ?? 0);
  return FIXED_WIDTH_BYTES[spec.type];
}

export function estimateBytes(parsed: Pick<ParsedTemplate, 'tables' | 'identifiers' | 'selectsStar'>, stats: Partial<Record<TableName, TableStats>>): number {
  let total = 0;
  for (const table of parsed.tables) {
    const s = stats[table];
    if (!s) continue;
    const width = referencedColumns(table, parsed).reduce((sum, c) => sum + columnWidth(table, c, s), 0);
    total += s.rowCount * width;
  }
  return Math.round(total);
}
