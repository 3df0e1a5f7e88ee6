import { join } from 'node:path';
import type { AuditLog } from '../audit/model.js';
import { createGuardedWarehouse, type GuardedWarehouse, type GuardSettings } from '../guard/guarded.js';
import type { Clock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { createBigQueryEngine, type BigQueryEngineOptions } from './bigquery.js';
import { isTableName, type TableName } from './contract.js';
import { createDuckDbEngine } from './duckdb.js';
import type { WarehouseEngine } from './port.js';

export type { ParamValue, QueryActor, QueryOrigin, Warehouse, WarehouseQuery, WarehouseResult } from './port.js';
export { ensureLocalWarehouse, loadLocalWarehouseFromFolder, localWarehousePaths } from './local.js';

export interface WarehouseDeps {
  logger: Logger;
  clock: Clock;
  /** Every guarded query is audited here. */
  audit: AuditLog | null;
  /** Overrides of the guard settings from config (tests, benchmark). */
  guard?: Partial<GuardSettings>;
  /** BigQuery client overrides (endpoint, credentials). */
  bigqueryClient?: BigQueryEngineOptions['client'];
}

/** The guard settings config asks for (unknown table names in per-table windows are ignored). */
export function guardSettings(config: Config, over: Partial<GuardSettings> = {}): GuardSettings {
  const windowDaysByTable = Object.fromEntries(Object.entries(config.guard.windowDaysByTable).filter(([t]) => isTableName(t))) as Partial<Record<TableName, number>>;
  return { ...config.guard, windowDaysByTable, ...over };
}

/**
 * The engine config selects; only the guard (and this module) may hold one. Nothing heavy happens
 * here: the DuckDB file is opened, and the BigQuery client created, on first use.
 */
export function createEngine(config: Config, deps: Pick<WarehouseDeps, 'logger' | 'bigqueryClient'>): WarehouseEngine {
  if (config.adapters.warehouse === 'duckdb') {
    return createDuckDbEngine({ file: join(config.dataDir, 'warehouse', 'warehouse.duckdb'), logger: deps.logger });
  }
  const tables = Object.fromEntries(Object.entries(config.warehouse.tables).filter(([t]) => isTableName(t))) as Partial<Record<TableName, string>>;
  return createBigQueryEngine({
    jobProject: config.projectId,
    dataProject: config.warehouse.project ?? config.projectId,
    dataset: config.warehouse.dataset,
    location: config.warehouse.location,
    logger: deps.logger,
    tables,
    ...(deps.bigqueryClient ? { client: deps.bigqueryClient } : {}),
  });
}

/** The platform's warehouse: the engine config selects, behind the guard. */
export function createWarehouse(config: Config, deps: WarehouseDeps): GuardedWarehouse {
  return createGuardedWarehouse({
    engine: createEngine(config, deps),
    settings: guardSettings(config, deps.guard),
    clock: deps.clock,
    logger: deps.logger,
    audit: deps.audit,
  });
}
