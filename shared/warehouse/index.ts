import { join } from 'node:path';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { createBigQueryWarehouse, type BigQueryWarehouseOptions } from './bigquery.js';
import type { TableName } from './contract.js';
import { createDuckDbWarehouse } from './duckdb.js';
import type { Warehouse } from './port.js';

export type { ParamValue, Warehouse, WarehouseQuery, WarehouseResult } from './port.js';
export { ensureLocalWarehouse, loadLocalWarehouseFromFolder, localWarehousePaths } from './local.js';

/** Per-query byte budget when the caller sets none: 10 GiB (BigQuery on-demand: a few cents). */
export const DEFAULT_MAX_BYTES_PER_QUERY = 10 * 1024 ** 3;
export const DEFAULT_JOB_TIMEOUT_MS = 120_000;

export interface WarehouseDeps {
  logger: Logger;
  maxBytesPerQuery?: number;
  jobTimeoutMs?: number;
  /** Real BigQuery table names where they differ from the contract's. */
  tables?: Partial<Record<TableName, string>>;
  /** BigQuery client overrides (endpoint, credentials). */
  bigqueryClient?: BigQueryWarehouseOptions['client'];
}

/**
 * The warehouse adapter chosen by config. Nothing heavy happens here: the DuckDB file is opened,
 * and the BigQuery client created, on the first query or ping.
 */
export function createWarehouse(config: Config, deps: WarehouseDeps): Warehouse {
  const maxBytesPerQuery = deps.maxBytesPerQuery ?? DEFAULT_MAX_BYTES_PER_QUERY;
  if (config.adapters.warehouse === 'duckdb') {
    return createDuckDbWarehouse({ file: join(config.dataDir, 'warehouse', 'warehouse.duckdb'), logger: deps.logger, maxBytesPerQuery });
  }
  return createBigQueryWarehouse({
    jobProject: config.projectId,
    dataProject: config.warehouse.project ?? config.projectId,
    dataset: config.warehouse.dataset,
    location: config.warehouse.location,
    logger: deps.logger,
    maxBytesPerQuery,
    jobTimeoutMs: deps.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS,
    ...(deps.tables ? { tables: deps.tables } : {}),
    ...(deps.bigqueryClient ? { client: deps.bigqueryClient } : {}),
  });
}
