export type { ParamValue, QueryActor, QueryOrigin, Warehouse, WarehouseQuery, WarehouseResult } from './port.js';
export { createEngine, createWarehouse, guardSettings, type WarehouseDeps } from './create.js';
// The embedded warehouse (DuckDB file, generator): local stack, tests and benchmarks only.
export { ensureLocalWarehouse, loadLocalWarehouseFromFolder, localWarehousePaths } from './local.js';
