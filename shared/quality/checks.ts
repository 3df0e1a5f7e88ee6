import { z } from 'zod';
import { STALE_AFTER_HOURS } from '../agent/staleness.js';
import { CONTRACT, TABLE_NAMES, type TableName } from '../warehouse/contract.js';
import type { ParamValue } from '../warehouse/port.js';

/**
 * Data-quality checks, the pure half: the report model, the SQL each warehouse check sends
 * through the guard, and the evaluation of what came back into ok | warn | fail. No I/O here
 * (shared/quality/job.ts runs the queries). Every detail names tables, columns, counts, ages and
 * investigation ids only: a report never holds personal data.
 */
export const CHECK_STATUSES = ['ok', 'warn', 'fail'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export const QualityCheckSchema = z.strictObject({
  /** `<kind>.<table>` for warehouse checks, `platform.<what>` for the platform's own state. */
  name: z.string().regex(/^[a-z]+\.[a-z_]+$/),
  status: z.enum(CHECK_STATUSES),
  detail: z.string().min(1).max(2000),
  value: z.number().optional(),
  threshold: z.number().optional(),
});
export type QualityCheck = z.infer<typeof QualityCheckSchema>;

export const QualityReportSchema = z.strictObject({
  checked_at: z.iso.datetime(),
  checks: z.array(QualityCheckSchema),
});
export type QualityReport = z.infer<typeof QualityReportSchema>;

export interface QualityPolicy {
  /** A fact table warns once its newest row is older than this share of its STALE_AFTER_HOURS limit. */
  freshnessWarnFraction: number;
  /** How far back the freshness/volume query looks; no row in it = fail. */
  lookbackDays: number;
  /** A `running` investigation whose lease expired longer ago than this was missed by the reconciler. */
  stuckMarginMinutes: number;
  /** An outbox event still unpublished after this long was missed by the reconciler. */
  outboxMaxAgeMinutes: number;
}

export const DEFAULT_QUALITY_POLICY: QualityPolicy = {
  // The agent marks findings stale at 100 %; 75 % gives a late daily load a warning first.
  freshnessWarnFraction: 0.75,
  lookbackDays: 7,
  stuckMarginMinutes: 15,
  outboxMaxAgeMinutes: 15,
};

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The fact tables freshness and volume judge: exactly those staleness.ts has a limit for. */
export function judgedTables(): TableName[] {
  return TABLE_NAMES.filter((t) => STALE_AFTER_HOURS[t] !== undefined && CONTRACT[t].partitionColumn !== null);
}

export function countOf(report: QualityReport): Record<CheckStatus, number> {
  const out: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0 };
  for (const c of report.checks) out[c.status]++;
  return out;
}

export function failedChecks(report: QualityReport): QualityCheck[] {
  return report.checks.filter((c) => c.status === 'fail');
}

// ------------------------------------------------------------------------------------------------
// SQL (BigQuery, contract names; the guard checks and translates it)

export interface GuardedSql {
  sql: string;
  params: Record<string, ParamValue>;
}

/**
 * Reads the given columns without returning a value: COUNT(column) is non-exposing for the
 * guard, so PII columns are probed by the `service` role without `investigations.read_pii`.
 * Fact tables get a zero-width partition window (no partition is read); dimensions a
 * constant-false filter. A column the table no longer has fails the query in the engine.
 */
export function contractProbeSql(table: TableName, columns: readonly string[], now: Date): GuardedSql {
  const select = columns.map((c, i) => `COUNT(${c}) AS c${i}`).join(', ');
  const partition = CONTRACT[table].partitionColumn;
  if (!partition) return { sql: `SELECT ${select} FROM ${table} WHERE FALSE`, params: {} };
  return { sql: `SELECT ${select} FROM ${table} WHERE ${partition} >= @probe_at AND ${partition} < @probe_at`, params: { probe_at: now } };
}

/**
 * Complete UTC days the volume check counts: one for daily-loaded tables, more for the sparse
 * ones staleness.ts allows a quiet weekend (72 h → 3 days), so a quiet day is not an alarm.
 */
export function volumeDays(table: TableName): number {
  const limit = STALE_AFTER_HOURS[table];
  if (limit === undefined) throw new Error(`${table} has no staleness limit`);
  return Math.max(1, Math.floor(limit / 24));
}

/** Newest row, rows of the last `volumeDays` complete UTC days and of today so far, over the lookback window. */
export function factStatsSql(table: TableName, now: Date, policy: QualityPolicy): GuardedSql {
  const p = CONTRACT[table].partitionColumn;
  if (!p) throw new Error(`${table} is not partitioned`);
  const today = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
  const days = Math.min(volumeDays(table), policy.lookbackDays);
  return {
    sql:
      `SELECT MAX(${p}) AS latest, COUNTIF(${p} >= @window_start AND ${p} < @today) AS window_rows, COUNTIF(${p} >= @today) AS today_rows ` +
      `FROM ${table} WHERE ${p} >= @since`,
    params: { since: new Date(now.getTime() - policy.lookbackDays * DAY_MS), window_start: new Date(today.getTime() - days * DAY_MS), today },
  };
}

// ------------------------------------------------------------------------------------------------
// Evaluation

/** What one guarded probe did: ran, or failed with a message safe to store (AppError detail). */
export type ProbeOutcome = { ok: true } | { ok: false; error: string };

/**
 * The contract check of one table. `columns` holds one probe per column, made only when the
 * whole-table probe failed (engines do not say which name they missed in a form we may store).
 */
export function evaluateContract(table: TableName, whole: ProbeOutcome, columns: Record<string, ProbeOutcome> | null): QualityCheck {
  const name = `contract.${table}`;
  const all = CONTRACT[table].columns.length;
  if (whole.ok) return { name, status: 'ok', detail: `${table} answers all ${all} contract columns.`, value: 0, threshold: 0 };
  if (!columns) return { name, status: 'fail', detail: `${table} could not be probed: ${whole.error}`, threshold: 0 };
  const missing = Object.entries(columns)
    .filter(([, o]) => !o.ok)
    .map(([c]) => `${table}.${c}`);
  if (missing.length === 0) return { name, status: 'fail', detail: `${table} failed its probe although each column answers alone: ${whole.error}`, threshold: 0 };
  if (missing.length === Object.keys(columns).length) {
    return { name, status: 'fail', detail: `No contract column of ${table} answers (table missing, renamed or unreadable?): ${whole.error}`, value: missing.length, threshold: 0 };
  }
  return { name, status: 'fail', detail: `Missing or unreadable contract column(s): ${missing.join(', ')}.`, value: missing.length, threshold: 0 };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Freshness of a judged fact table from its newest row (null: none in the lookback window). */
export function evaluateFreshness(table: TableName, latest: string | null, now: Date, policy: QualityPolicy): QualityCheck {
  const name = `freshness.${table}`;
  const limit = STALE_AFTER_HOURS[table];
  if (limit === undefined) throw new Error(`${table} has no staleness limit`);
  if (latest === null) return { name, status: 'fail', detail: `${table} has no row in the last ${policy.lookbackDays} days.`, threshold: limit };
  const ageHours = round1((now.getTime() - Date.parse(latest)) / HOUR_MS);
  const at = `${latest.slice(0, 16).replace('T', ' ')} UTC`;
  if (ageHours < -1) return { name, status: 'warn', detail: `${table}'s newest row (${at}) is ${-ageHours} hours in the future: a clock or load problem.`, value: ageHours, threshold: limit };
  if (ageHours > limit) return { name, status: 'fail', detail: `${table} has nothing newer than ${at} (${ageHours} hours old, limit ${limit} hours): investigations mark findings on it stale.`, value: ageHours, threshold: limit };
  if (ageHours > limit * policy.freshnessWarnFraction) return { name, status: 'warn', detail: `${table}'s newest row is ${ageHours} hours old (stale after ${limit} hours).`, value: ageHours, threshold: limit };
  return { name, status: 'ok', detail: `${table}'s newest row is ${Math.max(0, ageHours)} hours old (stale after ${limit} hours).`, value: ageHours, threshold: limit };
}

/** Volume: the last `days` complete UTC days must hold rows; today's count so far is reported alongside. */
export function evaluateVolume(table: TableName, days: number, windowRows: number, todayRows: number): QualityCheck {
  const name = `volume.${table}`;
  const span = days === 1 ? 'yesterday (UTC)' : `the last ${days} complete UTC days`;
  if (windowRows <= 0) return { name, status: 'fail', detail: `${table} has no row for ${span}; ${todayRows} so far today.`, value: 0, threshold: 1 };
  return { name, status: 'ok', detail: `${table}: ${windowRows} rows for ${span}, ${todayRows} so far today.`, value: windowRows, threshold: 1 };
}

/** A warehouse check that could not run at all (guard refusal, engine down, timeout). */
export function unavailable(name: string, error: string): QualityCheck {
  return { name, status: 'fail', detail: `Could not run: ${error}` };
}

/** Investigations still `running` although their lease expired more than the margin ago. */
export function evaluateStuck(ids: readonly string[], policy: QualityPolicy): QualityCheck {
  const name = 'platform.stuck_investigations';
  if (!ids.length) return { name, status: 'ok', detail: `No investigation is running on a lease that expired over ${policy.stuckMarginMinutes} minutes ago.`, value: 0, threshold: 0 };
  const shown = ids.slice(0, 10).join(', ');
  return {
    name,
    status: 'fail',
    detail: `${ids.length} investigation(s) still running on a lease that expired over ${policy.stuckMarginMinutes} minutes ago (the reconciler is not re-driving them): ${shown}${ids.length > 10 ? ', …' : ''}.`,
    value: ids.length,
    threshold: 0,
  };
}

/** Outbox events committed but still unpublished after the allowed age. */
export function evaluateOutbox(pending: number, oldestCreatedAt: string | null, policy: QualityPolicy): QualityCheck {
  const name = 'platform.outbox_backlog';
  if (pending === 0) return { name, status: 'ok', detail: `No outbox event has waited more than ${policy.outboxMaxAgeMinutes} minutes to be published.`, value: 0, threshold: 0 };
  return {
    name,
    status: 'fail',
    detail: `${pending} outbox event(s) unpublished for over ${policy.outboxMaxAgeMinutes} minutes${oldestCreatedAt ? ` (oldest from ${oldestCreatedAt})` : ''}: the publisher or the reconciler is failing.`,
    value: pending,
    threshold: 0,
  };
}
