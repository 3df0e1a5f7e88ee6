import { compileQuery } from '../../shared/guard/compile.js';
import { DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import type { GuardRule } from '../../shared/guard/rules.js';
import type { ParamValue } from '../../shared/warehouse/port.js';

/** The time window a query reads: only terms that hold for every row read may bound it. */
const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const LEAD = { principal: 'lead@example.com', roles: ['lead'] };
const daysAgo = (d: number) => new Date(NOW.getTime() - d * DAY);
const WEEK_AGO = "TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 7 DAY)";

function compile(sql: string, params: Record<string, ParamValue> = {}) {
  return compileQuery({ sql, params, actor: LEAD, origin: 'adhoc', policy: DEFAULT_GUARD_SETTINGS, now: NOW });
}
const rules = (sql: string, params: Record<string, ParamValue> = {}): GuardRule[] => compile(sql, params).refusals.map((r) => r.rule);
/** Width in days the guard counts for the first scan of `table`. */
function windowDays(sql: string, table = 'fct_tts_usage', params: Record<string, ParamValue> = {}): number | null {
  const scan = compile(sql, params).scans.find((s) => s.table === table);
  if (!scan?.from) return null;
  return Math.round(((scan.to ?? NOW).getTime() - scan.from.getTime()) / DAY);
}

describe('bounds come from terms that filter every row of the table', () => {
  it('a bound in the ON of a LEFT JOIN does not bound its preserved (left) side', () => {
    const sql = `SELECT a.user_id, v.name FROM fct_tts_usage a LEFT JOIN dim_voices v ON v.voice_id = a.voice_id AND a.event_ts >= ${WEEK_AGO} WHERE a.event_ts >= '2000-01-01'`;
    expect(rules(sql)).toEqual(['window-too-wide']);
    expect(windowDays(sql)).toBe(Math.round((NOW.getTime() - Date.parse('2000-01-01T00:00:00Z')) / DAY));
    expect(compile(sql).refusals[0]!.detail).toMatch(/over 9\d{3}(\.\d+)? days/);
    // Without the WHERE the preserved side has no bound at all.
    expect(rules(sql.replace(/ WHERE .*/, ''))).toEqual(['partition-filter-required']);
  });

  it('nor the right side of a RIGHT JOIN, nor either side of a FULL JOIN', () => {
    expect(rules(`SELECT a.user_id FROM dim_voices v RIGHT JOIN fct_tts_usage a ON v.voice_id = a.voice_id AND a.event_ts >= ${WEEK_AGO}`)).toEqual(['partition-filter-required']);
    expect(rules(`SELECT a.user_id FROM fct_tts_usage a FULL JOIN dim_voices v ON v.voice_id = a.voice_id AND a.event_ts >= ${WEEK_AGO}`)).toEqual(['partition-filter-required']);
    expect(rules(`SELECT a.user_id FROM fct_tts_usage a FULL OUTER JOIN fct_logins l ON l.user_id = a.user_id AND a.event_ts >= ${WEEK_AGO} AND l.login_ts >= ${WEEK_AGO}`)).toEqual(['partition-filter-required']);
  });

  it('an ON term does bound the side the join filters (inner join, right of a LEFT JOIN)', () => {
    expect(rules(`SELECT u.user_id, e.request_id FROM dim_users u LEFT JOIN fct_tts_usage e ON e.user_id = u.user_id AND e.event_ts >= ${WEEK_AGO}`)).toEqual([]);
    expect(rules(`SELECT u.user_id FROM dim_users u JOIN fct_tts_usage e ON e.user_id = u.user_id AND e.event_ts >= ${WEEK_AGO}`)).toEqual([]);
    expect(windowDays(`SELECT u.user_id FROM dim_users u JOIN fct_tts_usage e ON e.user_id = u.user_id AND e.event_ts >= ${WEEK_AGO}`)).toBe(7);
  });

  it('a bound on one reference of a table does not bound another reference of it (self-join)', () => {
    const sql = `SELECT a.user_id FROM fct_tts_usage a JOIN fct_tts_usage b ON a.user_id = b.user_id WHERE a.event_ts >= ${WEEK_AGO}`;
    expect(rules(sql)).toEqual(['partition-filter-required']);
    expect(rules(`${sql} AND b.event_ts >= '2000-01-01'`)).toEqual(['window-too-wide']);
  });

  it('a weak bound in WHERE never widens a strong one in the same WHERE, and a strong one elsewhere never narrows a weak one', () => {
    expect(windowDays(`SELECT user_id FROM fct_tts_usage WHERE event_ts >= '2000-01-01' AND event_ts >= ${WEEK_AGO}`)).toBe(7);
    // The strong bound sits in a subquery that filters a different read of the table.
    const sql = `SELECT user_id FROM fct_tts_usage WHERE event_ts >= '2000-01-01' AND user_id IN (SELECT user_id FROM fct_tts_usage WHERE event_ts >= ${WEEK_AGO})`;
    expect(rules(sql)).toEqual(['window-too-wide']);
    expect(windowDays(sql)).toBeGreaterThan(9000);
  });

  it('terms under OR or NOT, in HAVING, QUALIFY, a correlated subquery or an outer query bound nothing', () => {
    const p = { s: daysAgo(7) };
    expect(rules('SELECT user_id FROM fct_tts_usage WHERE event_ts >= @s OR FALSE', p)).toEqual(['partition-filter-required']);
    expect(rules('SELECT user_id FROM fct_tts_usage WHERE NOT (event_ts < @s)', p)).toEqual(['partition-filter-required']);
    expect(rules('SELECT user_id FROM fct_tts_usage GROUP BY user_id HAVING MIN(event_ts) >= @s', p)).toEqual(['partition-filter-required']);
    expect(rules('SELECT user_id FROM fct_tts_usage WHERE TRUE QUALIFY MIN(event_ts) OVER () >= @s', p)).toEqual(['partition-filter-required']);
    expect(rules('SELECT a.user_id FROM fct_tts_usage a WHERE EXISTS (SELECT 1 FROM dim_users u WHERE u.user_id = a.user_id AND a.event_ts >= @s)', p)).toEqual(['partition-filter-required']);
    expect(rules('SELECT user_id FROM (SELECT user_id, event_ts FROM fct_tts_usage) WHERE event_ts >= @s', p)).toEqual(['partition-filter-required']);
    expect(rules('WITH x AS (SELECT user_id, event_ts FROM fct_tts_usage) SELECT user_id FROM x WHERE event_ts >= @s', p)).toEqual(['partition-filter-required']);
  });

  it('an unqualified column that another FROM item also provides bounds nothing', () => {
    const sql = `SELECT a.user_id FROM fct_tts_usage a, (SELECT CURRENT_TIMESTAMP() AS event_ts) b WHERE event_ts >= ${WEEK_AGO}`;
    expect(rules(sql)).toEqual(['partition-filter-required']);
  });
});

describe('functions of the partition column', () => {
  it('TIMESTAMP_TRUNC(col, YEAR) = x reads the whole year, not a zero-day window', () => {
    const sql = "SELECT user_id FROM fct_tts_usage WHERE TIMESTAMP_TRUNC(event_ts, YEAR) = TIMESTAMP '2026-01-01'";
    expect(windowDays(sql)).toBe(365);
    expect(rules(sql)).toEqual(['window-too-wide']);
    expect(windowDays("SELECT user_id FROM fct_tts_usage WHERE TIMESTAMP_TRUNC(event_ts, MONTH) = TIMESTAMP '2026-02-01'")).toBe(28);
    expect(windowDays("SELECT user_id FROM fct_tts_usage WHERE DATE_TRUNC(DATE(event_ts), MONTH) <= DATE '2026-02-01' AND event_ts >= TIMESTAMP '2026-01-01'")).toBe(59);
  });

  it('DATE(col) and CAST(col AS DATE) bounds reach the end of the day they name', () => {
    expect(windowDays("SELECT user_id FROM fct_tts_usage WHERE DATE(event_ts) BETWEEN '2026-02-01' AND '2026-02-10'")).toBe(10);
    expect(windowDays("SELECT user_id FROM fct_tts_usage WHERE CAST(event_ts AS DATE) = '2026-02-01'")).toBe(1);
    expect(rules("SELECT user_id FROM fct_payments WHERE DATE(payment_ts) >= DATE_SUB(CURRENT_DATE(), INTERVAL 30 DAY)")).toEqual([]);
  });

  it('casts to other types, other functions and time zones bound nothing', () => {
    expect(rules("SELECT user_id FROM fct_tts_usage WHERE CAST(event_ts AS STRING) >= '2026-02-25'")).toEqual(['partition-filter-required']);
    expect(rules("SELECT user_id FROM fct_tts_usage WHERE EXTRACT(YEAR FROM event_ts) = 2026")).toEqual(['partition-filter-required']);
    expect(rules("SELECT user_id FROM fct_tts_usage WHERE TIMESTAMP_ADD(event_ts, INTERVAL 3650 DAY) >= CURRENT_TIMESTAMP()")).toEqual(['partition-filter-required']);
    expect(rules("SELECT user_id FROM fct_tts_usage WHERE COALESCE(event_ts, CURRENT_TIMESTAMP()) >= TIMESTAMP '2026-02-25'")).toEqual(['partition-filter-required']);
    expect(rules("SELECT user_id FROM fct_tts_usage WHERE SAFE_CAST(event_ts AS DATE) >= '2026-02-25'")).toEqual(['partition-filter-required']);
  });
});
