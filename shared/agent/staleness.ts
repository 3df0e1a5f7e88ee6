import type { TableName } from '../warehouse/contract.js';
import type { Finding, StepRecord } from './model.js';

/**
 * When is warehouse data stale? Every step records, per table it read, the latest timestamp the
 * table holds within the step's time range (run.ts FreshnessProbe). A FACT table is stale when that
 * timestamp is older than its limit below, measured from the investigation's `now`: the analytics
 * pipeline loads these tables continuously, so a gap that long means a broken or late load, and a
 * finding (or an absence of one) may not reflect the last hours.
 *
 * Dimension tables (dim_users, dim_voices) are not judged: their freshness column is the newest
 * account/voice creation time, which says how recently someone signed up, not how recently the
 * table was loaded. A table with no row in the range (null) is not judged either: an empty range
 * is a fact about the subject, not about the pipeline.
 *
 * | table                | stale after | why                                                    |
 * |----------------------|------------:|--------------------------------------------------------|
 * | fct_tts_usage        |        36 h | loaded at least daily; 36 h allows one late daily load |
 * | fct_logins           |        36 h | same                                                   |
 * | fct_moderation_flags |        72 h | flags are fewer; a quiet weekend is not a broken load  |
 * | fct_payments         |        72 h | payments are fewer and batch-settled                   |
 */
export const STALE_AFTER_HOURS: Partial<Record<TableName, number>> = {
  fct_tts_usage: 36,
  fct_logins: 36,
  fct_moderation_flags: 72,
  fct_payments: 72,
};

const HOUR_MS = 3_600_000;

/** The tables of a step's freshness map that are stale at `now`. */
export function staleTables(freshness: Record<string, string | null>, now: Date): string[] {
  return Object.entries(freshness)
    .filter(([table, latest]) => {
      const limit = STALE_AFTER_HOURS[table as TableName];
      return limit !== undefined && latest !== null && now.getTime() - Date.parse(latest) > limit * HOUR_MS;
    })
    .map(([table]) => table)
    .sort();
}

function age(latest: string, now: Date): string {
  const hours = Math.floor((now.getTime() - Date.parse(latest)) / HOUR_MS);
  return hours >= 48 ? `${Math.floor(hours / 24)} days` : `${hours} hours`;
}

/**
 * Marks findings built on stale data: `stale`, `data_as_of` (the oldest latest-timestamp among the
 * fact tables behind the evidence; null when only dimensions are behind it) and a sentence in the summary naming the stale tables.
 */
export function markStaleFindings(findings: Finding[], steps: readonly StepRecord[], now: Date): Finding[] {
  const byName = new Map(steps.map((s) => [s.name, s]));
  return findings.map((f) => {
    const used = [...new Set(f.evidence.map((e) => e.step))].map((n) => byName.get(n)).filter((s): s is StepRecord => s !== undefined);
    // Only judged (fact) tables say how current the data is; a dimension's newest signup does not.
    const latest = used
      .flatMap((s) => Object.entries(s.freshness))
      .filter(([t, v]) => STALE_AFTER_HOURS[t as TableName] !== undefined && v !== null)
      .map(([, v]) => v as string);
    const stale = new Map<string, string>();
    for (const s of used) for (const t of staleTables(s.freshness, now)) stale.set(t, s.freshness[t]!);
    const dataAsOf = latest.length ? latest.reduce((a, b) => (a < b ? a : b)) : null;
    if (!stale.size) return { ...f, stale: false, data_as_of: dataAsOf };
    const list = [...stale].map(([t, ts]) => `${t} has nothing newer than ${ts.slice(0, 16).replace('T', ' ')} UTC (${age(ts, now)} old)`).join('; ');
    return { ...f, stale: true, data_as_of: dataAsOf, summary: `${f.summary} Stale data: ${list}, so this finding may be out of date.` };
  });
}
