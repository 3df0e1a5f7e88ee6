import { join } from 'node:path';
import type { AuditLog } from '../audit/model.js';
import { createGuardedWarehouse, type GuardedWarehouse, type GuardSettings } from '../guard/guarded.js';
import type { Clock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { createBigQueryEngine, type BigQueryEngineOptions } from './bigquery.js';
import { isTableName, type TableName } from './contract.js';
import type { WarehouseEngine } from './port.js';

/** An engine whose module is imported on first use (`tableName` must be known without it). */
function lazyEngine(kind: WarehouseEngine['kind'], tableName: WarehouseEngine['tableName'], load: () => Promise<WarehouseEngine>): WarehouseEngine {
  let engine: Promise<WarehouseEngine> | null = null;
  const get = () => (engine ??= load());
  return {
    kind,
    tableName,
    estimate: async (q) => (await get()).estimate(q),
    run: async (q) => (await get()).run(q),
    dataVersion: async () => (await get()).dataVersion(),
    ping: async () => (await get()).ping(),
    // Nothing to close if it was never opened.
    close: async () => (engine ? (await engine).close() : undefined),
  };
}


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
    // Loaded on first use, so production bundles (BigQuery) never carry the local engine.
    const file = join(config.dataDir, 'warehouse', 'warehouse.duckdb');
    return lazyEngine('duckdb', (table) => table, () => import('./duckdb.js').then((m) => m.createDuckDbEngine({ file, logger: deps.logger })));
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
