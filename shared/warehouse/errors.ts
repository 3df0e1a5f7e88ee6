import { AppError } from '../platform/errors.js';

/**
 * Warehouse failures. `detail` is always safe to show (no SQL text, no parameter values, no engine
 * message, which can echo data); the engine's own message goes to the redacting logger only.
 */
export class WarehouseQueryError extends AppError {
  constructor(label: string, reason: string) {
    super('warehouse-query-failed', 502, 'Warehouse query failed', `Query "${label}" failed: ${reason}.`, { query: label });
  }
}

export class WarehouseBudgetError extends AppError {
  /** `estimatedBytes` null: BigQuery stopped the job at maximumBytesBilled (no estimate was over). */
  constructor(label: string, estimatedBytes: number | null, budgetBytes: number) {
    super(
      'warehouse-budget-exceeded',
      422,
      'Warehouse query over budget',
      estimatedBytes === null
        ? `Query "${label}" was stopped by BigQuery: it would bill more than the budget of ${budgetBytes} bytes.`
        : `Query "${label}" would read about ${estimatedBytes} bytes, over the per-query budget of ${budgetBytes} bytes.`,
      { query: label, estimated_bytes: estimatedBytes, budget_bytes: budgetBytes },
    );
  }
}

export class WarehouseUnavailableError extends AppError {
  constructor(detail: string) {
    super('warehouse-unavailable', 503, 'Warehouse unavailable', detail, {}, { 'Retry-After': '30' });
  }
}


/** The query ran past its timeout and was cancelled (DuckDB interrupt / BigQuery jobs.cancel). */
export class WarehouseTimeoutError extends AppError {
  constructor(label: string, timeoutMs: number) {
    super('warehouse-timeout', 504, 'Warehouse query timed out', `Query "${label}" ran longer than ${timeoutMs} ms and was cancelled.`, { query: label, timeout_ms: timeoutMs });
  }
}
