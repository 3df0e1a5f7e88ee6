import type { TableName } from '../warehouse/contract.js';
import { analyse } from './analyse.js';
import { sqlHash } from './normalise.js';
import { parseBigQuery } from './parse.js';

/**
 * What a SQL text reads, without checking who may run it: for step registries (tables and hash
 * of a template), tests and reports. Throws on text the parser cannot read.
 */
export interface SqlDescription {
  tables: TableName[];
  columns: Record<string, string[]>;
  params: string[];
  sqlHash: string;
}

export function describeSql(sql: string): SqlDescription {
  const a = analyse(parseBigQuery(sql), { params: {}, now: new Date(0) });
  return {
    tables: [...new Set(a.tables.map((t) => t.table))],
    columns: Object.fromEntries([...a.columns].map(([t, c]) => [t, [...c].sort()])),
    params: a.params,
    sqlHash: sqlHash(sql),
  };
}
