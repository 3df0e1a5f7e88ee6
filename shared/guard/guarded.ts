import { createHash } from 'node:crypto';
import { maskParams } from '../agent/mask.js';
import type { AuditLog } from '../audit/model.js';
import type { Clock } from '../platform/clock.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { recordGuardRefusal } from '../platform/metrics.js';
import { fromZod } from '../platform/problem.js';
import { columnSpec, type ColumnRef } from '../warehouse/contract.js';
import {
  DEFAULT_MAX_ROWS,
  WarehouseQuerySchema,
  type Lineage,
  type ParamValue,
  type QueryActor,
  type Warehouse,
  type WarehouseEngine,
  type WarehouseQuery,
  type WarehouseResult,
} from '../warehouse/port.js';
import { ResultCache } from './cache.js';
import { compileQuery, UnparseableSql, type CompiledQuery } from './compile.js';
import { GuardRefusalError } from './errors.js';
import type { GuardRule, WindowPolicy } from './rules.js';
import { Slots } from './slots.js';

/**
 * The guarded warehouse: the ONLY path from the platform to an engine. For every query:
 * validate → parse and check the rules (pure, compile.ts) → cache → estimate → role budget →
 * a concurrency slot (queued) → run with the byte cap and timeout → lineage, one audit record.
 * Refusals are audited too and thrown as GuardRefusalError (problem+json naming the rule).
 */
export interface GuardSettings extends WindowPolicy {
  /** Byte budget per query by role; a caller gets the largest of their roles'. */
  budgetBytesByRole: Record<string, number>;
  /** Budget for roles the table does not name. */
  defaultBudgetBytes: number;
  maxConcurrent: number;
  maxQueued: number;
  timeoutMs: number;
  cacheEntries: number;
  cacheTtlMs: number;
  cacheMaxRows: number;
}

export const DEFAULT_GUARD_SETTINGS: GuardSettings = {
  maxWindowDays: 90,
  // The agent's history checks (bans, shared cards, critical flags) need a year of the low-volume
  // facts; the per-request usage table stays at the default window.
  windowDaysByTable: { fct_moderation_flags: 366, fct_logins: 366, fct_payments: 366 },
  budgetBytesByRole: { analyst: 10 * 1024 ** 3, lead: 50 * 1024 ** 3, service: 10 * 1024 ** 3, compliance: 1024 ** 3 },
  defaultBudgetBytes: 0,
  maxConcurrent: 4,
  maxQueued: 200,
  timeoutMs: 120_000,
  cacheEntries: 500,
  cacheTtlMs: 10 * 60_000,
  cacheMaxRows: 200_000,
};

export interface GuardDeps {
  engine: WarehouseEngine;
  settings: GuardSettings;
  clock: Clock;
  logger: Logger;
  /** Every query (allowed, refused, failed) is written here; absent only in pure engine tests. */
  audit: AuditLog | null;
}

export interface GuardedWarehouse extends Warehouse {
  /** Counters for health pages and the benchmark. */
  stats(): { active: number; queued: number; cacheHits: number; cacheMisses: number; cached: number };
}

export function budgetFor(actor: QueryActor, settings: Pick<GuardSettings, 'budgetBytesByRole' | 'defaultBudgetBytes'>): number {
  const budgets = actor.roles.map((r) => settings.budgetBytesByRole[r] ?? settings.defaultBudgetBytes);
  return budgets.length ? Math.max(...budgets) : settings.defaultBudgetBytes;
}

export function createGuardedWarehouse(deps: GuardDeps): GuardedWarehouse {
  const { engine, settings, clock } = deps;
  const log = deps.logger.child({ component: 'warehouse-guard' });
  const slots = new Slots(settings.maxConcurrent, settings.maxQueued);
  const cache = new ResultCache(settings.cacheEntries, settings.cacheTtlMs, settings.cacheMaxRows);
  let cacheHits = 0;
  let cacheMisses = 0;

  const audit = async (q: ParsedQuery, outcome: 'allowed' | 'denied' | 'failed', reason: string | null, details: Record<string, unknown>) => {
    if (!deps.audit) return;
    try {
      await deps.audit.write({
        actor: q.actor.principal,
        roles: [...q.actor.roles],
        action: 'warehouse.query',
        resource: q.resource ?? null,
        outcome,
        reason,
        request_id: q.requestId ?? null,
        trace: q.trace ?? null,
        source_ip: q.sourceIp ?? null,
        details: { label: q.label, origin: q.origin, ...details },
      });
    } catch (error) {
      // The query's own outcome stands; a lost audit record is an operational alert.
      log.error('audit write failed for a warehouse query', error, { query: q.label });
    }
  };

  return {
    kind: engine.kind,

    async query<T = Record<string, unknown>>(input: WarehouseQuery): Promise<WarehouseResult<T>> {
      const parsedInput = WarehouseQuerySchema.safeParse(input);
      if (!parsedInput.success) throw fromZod(parsedInput.error, 'query');
      const q = parsedInput.data;
      const started = performance.now();
      const now = clock.now();
      const maxRows = q.maxRows ?? DEFAULT_MAX_ROWS;
      const budget = budgetFor(q.actor, settings);

      let compiled: CompiledQuery;
      try {
        compiled = compileQuery({ sql: q.sql, params: q.params, actor: q.actor, origin: q.origin, policy: settings, now });
      } catch (error) {
        if (!(error instanceof UnparseableSql)) throw error;
        const sql_hash = createHash('sha256').update(q.sql).digest('hex');
        await audit(q, 'denied', 'unparseable', { rule: 'unparseable', sql_hash });
        recordGuardRefusal(log, 'unparseable');
        throw new GuardRefusalError('unparseable', error.message, { violations: ['unparseable'], budget_bytes: budget });
      }
      // Only a query that passed the structural rules has a printable tree (and is priced or run).
      const sql = compiled.priceable ? compiled.render(engine.kind === 'bigquery' ? { kind: 'bigquery', table: (t) => engine.tableName(t) } : { kind: 'duckdb', now }, maxRows + 1) : '';
      const engineQuery = { label: q.label, sql, params: compiled.params, scans: compiled.scans };
      const base = {
        sql_hash: compiled.sqlHash,
        origin: q.origin,
        engine: engine.kind,
        tables: compiled.tables,
        columns: compiled.columns,
        params: maskParams(compiled.params, compiled.analysis.paramBindings),
        budget_bytes: budget,
      };
      const piiColumns = [...compiled.analysis.exposed].filter((c: ColumnRef) => columnSpec(c).pii).sort();

      const refuse = async (rule: GuardRule, detail: string, extras: Record<string, unknown>, estimated: number | null): Promise<never> => {
        const violations = (extras.violations as string[] | undefined) ?? [rule];
        await audit(q, 'denied', rule, { ...base, rule, violations, estimated_bytes: estimated });
        recordGuardRefusal(log, rule);
        throw new GuardRefusalError(rule, detail, { ...extras, violations, ...(estimated !== null ? { estimated_bytes: estimated } : {}), budget_bytes: budget });
      };

      if (compiled.refusals.length) {
        const first = compiled.refusals[0]!;
        // Pricing a refused query costs nothing (a dry run reads no data) and tells the caller how
        // far off it is; a query whose structure was not readable is not priced.
        let estimated: number | null = null;
        if (compiled.priceable) estimated = await engine.estimate(engineQuery).catch(() => null);
        const over = estimated !== null && estimated > budget;
        const violations = [...compiled.refusals.map((r) => r.rule), ...(over ? ['over-budget'] : [])];
        const detail = [first.detail, ...(estimated !== null ? [`Estimated ${estimated} bytes against a budget of ${budget} bytes.`] : [])].join(' ');
        return refuse(first.rule, detail, { ...(first.extras ?? {}), violations }, estimated);
      }

      const cacheable = !compiled.analysis.nondeterministic && settings.cacheEntries > 0;
      const version = cacheable ? await engine.dataVersion() : null;
      // Keyed on the printed SQL the engine runs: two texts share a result only if they print the same.
      const key = cacheable ? cacheKey(engine.kind, sql, compiled.params, maxRows, version) : null;
      const hit = key ? cache.get(key, now.getTime()) : undefined;
      if (hit) {
        cacheHits++;
        const lineage: Lineage = { ...base, estimated_bytes: 0, bytes_processed: 0, rows: hit.rows.length, truncated: hit.truncated, duration_ms: Math.round(performance.now() - started), job_id: null, cache_hit: true };
        await audit(q, 'allowed', null, { ...lineage, pii_columns: piiColumns });
        return { rows: hit.rows.map((r) => ({ ...r })) as T[], truncated: hit.truncated, estimatedBytes: 0, bytesProcessed: 0, durationMs: lineage.duration_ms, jobId: null, lineage };
      }
      if (key) cacheMisses++;

      let estimated: number;
      try {
        estimated = await engine.estimate(engineQuery);
      } catch (error) {
        await audit(q, 'failed', errorType(error), { ...base });
        throw error;
      }
      if (estimated > budget) {
        return refuse('over-budget', `The query would read about ${estimated} bytes, over the ${budget}-byte budget of your role(s) (${q.actor.roles.join(', ') || 'none'}).`, {}, estimated);
      }

      let release: (() => void) | null = null;
      try {
        release = await slots.acquire();
        const result = await engine.run<T>({ ...engineQuery, maxRows, maxBytesBilled: budget, timeoutMs: settings.timeoutMs });
        release();
        release = null;
        if (key) cache.set(key, { rows: result.rows.map((r) => ({ ...(r as Record<string, unknown>) })), truncated: result.truncated, storedAt: now.getTime() });
        const lineage: Lineage = {
          ...base,
          estimated_bytes: estimated,
          bytes_processed: result.bytesProcessed,
          rows: result.rows.length,
          truncated: result.truncated,
          duration_ms: Math.round(performance.now() - started),
          job_id: result.jobId,
          cache_hit: false,
        };
        await audit(q, 'allowed', null, { ...lineage, pii_columns: piiColumns });
        return { rows: result.rows, truncated: result.truncated, estimatedBytes: estimated, bytesProcessed: result.bytesProcessed, durationMs: lineage.duration_ms, jobId: result.jobId, lineage };
      } catch (error) {
        await audit(q, 'failed', errorType(error), { ...base, estimated_bytes: estimated });
        throw error;
      } finally {
        release?.();
      }
    },

    ping: () => engine.ping(),
    close: () => engine.close(),
    stats: () => ({ active: slots.active, queued: slots.queued, cacheHits, cacheMisses, cached: cache.size }),
  };
}

type ParsedQuery = ReturnType<typeof WarehouseQuerySchema.parse>;

function errorType(error: unknown): string {
  return error instanceof AppError ? error.type : 'internal';
}

function cacheKey(engine: string, sql: string, params: Record<string, ParamValue>, maxRows: number, version: string | null): string {
  const stable = Object.keys(params)
    .sort()
    .map((k) => [k, params[k] instanceof Date ? { ts: (params[k] as Date).toISOString() } : params[k]]);
  return createHash('sha256').update(JSON.stringify([engine, sql, stable, maxRows, version])).digest('hex');
}
