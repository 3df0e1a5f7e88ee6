import type { Firestore } from '@google-cloud/firestore';
import type { AuditLog } from '../audit/model.js';
import { GuardRefusalError } from '../guard/errors.js';
import type { InvestigationStore } from '../investigations/store.js';
import type { Clock } from '../platform/clock.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { recordJobRun } from '../platform/metrics.js';
import { TABLE_NAMES, columnNames, type TableName } from '../warehouse/contract.js';
import type { QueryActor, Warehouse } from '../warehouse/port.js';
import {
  DEFAULT_QUALITY_POLICY,
  QualityReportSchema,
  contractProbeSql,
  countOf,
  evaluateContract,
  evaluateFreshness,
  evaluateOutbox,
  evaluateStuck,
  evaluateVolume,
  factStatsSql,
  failedChecks,
  judgedTables,
  unavailable,
  volumeDays,
  type ProbeOutcome,
  type QualityCheck,
  type QualityPolicy,
  type QualityReport,
} from './checks.js';

/**
 * The data-quality job, the I/O half: runs the checks of checks.ts against the guarded warehouse
 * and the investigation store, stores the report, audits and measures the run. Shared by the
 * scheduled function (functions/data-quality) and `tsi quality check`.
 */

/**
 * Who the warehouse probes run as: the `service` role, which has no `investigations.read_pii`.
 * The guard lets reviewed (`system`) queries count PII columns without returning them, so the
 * contract probe reaches every column with COUNT(column) and nothing personal leaves the engine.
 */
export const QUALITY_ACTOR: QueryActor = { principal: 'system:data-quality', roles: ['service'] };
export const QUALITY_JOB = 'data-quality';
export const QUALITY_COLLECTION = 'quality_reports';

export interface QualityDeps {
  warehouse: Warehouse;
  /** Read-only use: the stuck-work and outbox queries the reconciler uses (no new index needed). */
  store: Pick<InvestigationStore, 'findByStatus' | 'pendingOutbox'>;
  clock: Clock;
  logger: Logger;
  policy?: QualityPolicy;
}

/** A message safe to store in a report: AppError details are written for callers; others are not. */
export function describeError(error: unknown): string {
  if (error instanceof GuardRefusalError) return `refused by the warehouse guard (rule ${error.rule}).`;
  if (error instanceof AppError) return error.detail ?? error.title;
  return 'internal error (see the job logs).';
}

/** `perColumn`: worth narrowing down to single columns (the engine, not the guard or an outage, refused). */
async function probe(deps: QualityDeps, table: TableName, columns: readonly string[], label: string): Promise<{ outcome: ProbeOutcome; perColumn: boolean }> {
  const { sql, params } = contractProbeSql(table, columns, deps.clock.now());
  try {
    await deps.warehouse.query({ label, sql, params, actor: QUALITY_ACTOR, origin: 'system', maxRows: 1 });
    return { outcome: { ok: true }, perColumn: false };
  } catch (error) {
    if (!(error instanceof AppError)) deps.logger.error('contract probe failed', error, { table });
    const perColumn = error instanceof AppError && error.type === 'warehouse-query-failed';
    return { outcome: { ok: false, error: describeError(error) }, perColumn };
  }
}

async function contractCheck(deps: QualityDeps, table: TableName): Promise<QualityCheck> {
  const columns = columnNames(table);
  const whole = await probe(deps, table, columns, `quality_contract_${table}`);
  if (!whole.perColumn) return evaluateContract(table, whole.outcome, null);
  // Engines do not name the missing column in a form we may store: ask column by column.
  const perColumn: Record<string, ProbeOutcome> = {};
  for (const column of columns) perColumn[column] = (await probe(deps, table, [column], `quality_column_${table}`)).outcome;
  return evaluateContract(table, whole.outcome, perColumn);
}

async function factChecks(deps: QualityDeps, table: TableName, policy: QualityPolicy): Promise<QualityCheck[]> {
  const now = deps.clock.now();
  const { sql, params } = factStatsSql(table, now, policy);
  try {
    const result = await deps.warehouse.query<{ latest: string | null; window_rows: number | null; today_rows: number | null }>({
      label: `quality_stats_${table}`,
      sql,
      params,
      actor: QUALITY_ACTOR,
      origin: 'system',
      maxRows: 1,
    });
    const row = result.rows[0] ?? { latest: null, window_rows: 0, today_rows: 0 };
    return [evaluateFreshness(table, row.latest ?? null, now, policy), evaluateVolume(table, Math.min(volumeDays(table), policy.lookbackDays), Number(row.window_rows ?? 0), Number(row.today_rows ?? 0))];
  } catch (error) {
    if (!(error instanceof AppError)) deps.logger.error('warehouse stats query failed', error, { table });
    const why = describeError(error);
    return [unavailable(`freshness.${table}`, why), unavailable(`volume.${table}`, why)];
  }
}

async function platformChecks(deps: QualityDeps, policy: QualityPolicy): Promise<QualityCheck[]> {
  const now = deps.clock.now().getTime();
  const out: QualityCheck[] = [];
  try {
    const stuck = await deps.store.findByStatus('running', 'lease_expires', new Date(now - policy.stuckMarginMinutes * 60_000).toISOString(), 100);
    out.push(evaluateStuck(stuck.map((d) => d.id), policy));
  } catch (error) {
    deps.logger.error('stuck-investigation check failed', error);
    out.push(unavailable('platform.stuck_investigations', describeError(error)));
  }
  try {
    const pending = await deps.store.pendingOutbox(new Date(now - policy.outboxMaxAgeMinutes * 60_000).toISOString(), 200);
    out.push(evaluateOutbox(pending.length, pending[0]?.created_at ?? null, policy));
  } catch (error) {
    deps.logger.error('outbox check failed', error);
    out.push(unavailable('platform.outbox_backlog', describeError(error)));
  }
  return out;
}

/** Runs every check; never throws for a failing check (that is a `fail` in the report). */
export async function runQualityChecks(deps: QualityDeps): Promise<QualityReport> {
  const policy = deps.policy ?? DEFAULT_QUALITY_POLICY;
  const checkedAt = deps.clock.now().toISOString();
  const contract = await Promise.all(TABLE_NAMES.map((t) => contractCheck(deps, t)));
  const facts = (await Promise.all(judgedTables().map((t) => factChecks(deps, t, policy)))).flat();
  const platform = await platformChecks(deps, policy);
  return QualityReportSchema.parse({ checked_at: checkedAt, checks: [...contract, ...facts, ...platform] });
}

/** `quality_reports/latest` plus one document per UTC day (the day's last run). */
export async function saveQualityReport(db: Firestore, report: QualityReport): Promise<string> {
  const day = report.checked_at.slice(0, 10);
  const col = db.collection(QUALITY_COLLECTION);
  const batch = db.batch();
  batch.set(col.doc('latest'), report);
  batch.set(col.doc(day), report);
  await batch.commit();
  return `${QUALITY_COLLECTION}/${day}`;
}

export async function readLatestQualityReport(db: Firestore): Promise<QualityReport | null> {
  const snap = await db.collection(QUALITY_COLLECTION).doc('latest').get();
  return snap.exists ? QualityReportSchema.parse(snap.data()) : null;
}

export interface QualityJobDeps extends QualityDeps {
  db: Firestore;
  audit: AuditLog;
  /** The trigger's id (scheduler delivery), for the audit record. */
  requestId?: string | null;
}

/**
 * One scheduled run: checks, report stored, one `quality.checked` audit record, the report in
 * the log, and `job.run` (outcome `failed` when any check failed, so the job-failures alert
 * pages: docs/operations.md#job-failures). Throws only when the report cannot be stored.
 */
export async function runQualityJob(deps: QualityJobDeps): Promise<QualityReport> {
  const started = performance.now();
  const log = deps.logger;
  try {
    const report = await runQualityChecks(deps);
    const resource = await saveQualityReport(deps.db, report);
    const counts = countOf(report);
    const failed = failedChecks(report);
    await deps.audit.write({
      actor: QUALITY_ACTOR.principal,
      roles: [...QUALITY_ACTOR.roles],
      action: 'quality.checked',
      resource,
      outcome: 'allowed',
      reason: null,
      request_id: deps.requestId ?? null,
      trace: null,
      source_ip: null,
      details: { checked_at: report.checked_at, ...counts, failed: failed.map((c) => c.name) },
    });
    for (const c of failed) log.warn('data-quality check failed', { check: c.name, detail: c.detail, value: c.value, threshold: c.threshold });
    log.notice('data-quality checked', { checked_at: report.checked_at, ...counts, report });
    recordJobRun(log, QUALITY_JOB, failed.length ? 'failed' : 'ok', performance.now() - started);
    return report;
  } catch (error) {
    recordJobRun(log, QUALITY_JOB, 'failed', performance.now() - started);
    throw error;
  }
}
