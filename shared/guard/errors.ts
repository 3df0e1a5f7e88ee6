import { AppError } from '../platform/errors.js';
import type { GuardRule } from './rules.js';

/**
 * A query the guard will not run. problem+json `type` is `warehouse-guard-refused`; the `rule`
 * extension names the first rule that refused it, `violations` every rule it breaks, and when the
 * query was well-formed enough to price, `estimated_bytes` and `budget_bytes`.
 */
export class GuardRefusalError extends AppError {
  constructor(
    readonly rule: GuardRule,
    detail: string,
    extras: Record<string, unknown> = {},
  ) {
    super('warehouse-guard-refused', 422, 'Query refused by the warehouse guard', detail, { rule, ...extras });
  }
}

/** Too many queries queued on this instance: retry later. */
export class WarehouseBusyError extends AppError {
  constructor(queued: number) {
    super('warehouse-busy', 503, 'Warehouse busy', `${queued} warehouse queries are already waiting on this instance; retry shortly.`, { queued }, { 'Retry-After': '5' });
  }
}
