import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { HISTORY_DAYS } from '../../shared/agent/planner.js';
import { STEPS } from '../../shared/agent/steps.js';
import { compileQuery } from '../../shared/guard/compile.js';
import { DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import type { GuardRule } from '../../shared/guard/rules.js';
import type { ParamValue, QueryOrigin } from '../../shared/warehouse/port.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const LEAD = { principal: 'lead@example.com', roles: ['lead'] };
const ANALYST = { principal: 'analyst@example.com', roles: ['analyst'] };
const since = (days: number) => new Date(NOW.getTime() - days * DAY);

function check(sql: string, params: Record<string, ParamValue> = {}, actor = LEAD, origin: QueryOrigin = 'adhoc') {
  return compileQuery({ sql, params, actor, origin, policy: DEFAULT_GUARD_SETTINGS, now: NOW });
}
const rules = (sql: string, params: Record<string, ParamValue> = {}, actor = LEAD, origin: QueryOrigin = 'adhoc'): GuardRule[] => {
  try {
    return check(sql, params, actor, origin).refusals.map((r) => r.rule);
  } catch {
    return ['unparseable'];
  }
};

const OK_USAGE = 'SELECT user_id, SUM(characters) AS c FROM fct_tts_usage WHERE event_ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 7 DAY) GROUP BY user_id';

describe('the hostile corpus: each query refused for the right reason', () => {
  const corpus: [string, string, GuardRule, Record<string, ParamValue>?, typeof LEAD?][] = [
    ['DML', "UPDATE dim_users SET account_status = 'active' WHERE TRUE", 'read-only'],
    ['DML delete', 'DELETE FROM fct_payments WHERE TRUE', 'read-only'],
    ['DML merge', 'MERGE dim_users t USING dim_users s ON t.user_id = s.user_id WHEN MATCHED THEN DELETE', 'read-only'],
    ['DDL', 'DROP TABLE dim_users', 'read-only'],
    ['DDL create', 'CREATE TABLE x AS SELECT user_id FROM dim_users', 'read-only'],
    ['export', "EXPORT DATA OPTIONS (uri = 'gs://b/*', format = 'CSV') AS SELECT email FROM dim_users", 'read-only'],
    ['script', 'DECLARE x INT64 DEFAULT 1', 'read-only'],
    ['block', 'BEGIN SELECT 1; END', 'read-only'],
    ['multi-statement', 'SELECT user_id FROM dim_users; DROP TABLE dim_users', 'single-statement'],
    ['comment trick: statement after a comment', 'SELECT user_id FROM dim_users; -- harmless\nDELETE FROM dim_users WHERE TRUE', 'single-statement'],
    ['comment trick: keyword split by a comment', 'SEL/**/ECT user_id FROM dim_users', 'unparseable'],
    ['comment trick: hash comment hiding the filter', 'SELECT user_id FROM fct_tts_usage # WHERE event_ts >= CURRENT_TIMESTAMP()', 'partition-filter-required'],
    ['unicode look-alike keyword (full-width)', 'ＳＥＬＥＣＴ user_id FROM dim_users', 'unparseable'],
    ['unicode look-alike table (Cyrillic е)', 'SELECT user_id FROM dim_usеrs', 'unparseable'],
    ['unicode look-alike table, back-quoted', 'SELECT user_id FROM `dim_usеrs`', 'table-not-allowed'],
    ['unicode look-alike in DELETE (Cyrillic Е)', 'DЕLETE FROM dim_users WHERE TRUE', 'unparseable'],
    ['EXTERNAL_QUERY', "SELECT * FROM EXTERNAL_QUERY('conn', 'SELECT 1')", 'function-not-allowed'],
    ['EXTERNAL_QUERY in an expression', "SELECT (SELECT COUNT(*) FROM EXTERNAL_QUERY('c', 'x')) AS n FROM dim_users", 'function-not-allowed'],
    ['qualified name outside the contract', 'SELECT user_id FROM `other-project.secret.dim_users`', 'table-not-allowed'],
    ['INFORMATION_SCHEMA', 'SELECT table_name FROM dbt_marts.INFORMATION_SCHEMA.TABLES', 'table-not-allowed'],
    ['nested subquery reaching a non-allowlisted table', 'SELECT user_id FROM dim_users WHERE user_id IN (SELECT user_id FROM (SELECT user_id FROM salaries))', 'table-not-allowed'],
    ['CTE reaching a non-allowlisted table', 'WITH x AS (SELECT user_id FROM audit_log) SELECT user_id FROM x', 'table-not-allowed'],
    ['non-contract column', 'SELECT user_id, password_hash FROM dim_users', 'column-not-allowed'],
    ['PII column without permission', 'SELECT email FROM dim_users', 'pii-not-permitted', {}, ANALYST],
    ['PII through a CTE alias', 'WITH x AS (SELECT signup_ip AS a FROM dim_users) SELECT a FROM x', 'pii-not-permitted', {}, ANALYST],
    ['PII as a filter oracle (ad-hoc)', "SELECT user_id FROM dim_users WHERE STARTS_WITH(email, 'a')", 'pii-not-permitted', {}, ANALYST],
    ['PII via SELECT * on a dimension', 'SELECT * FROM dim_users', 'pii-not-permitted', {}, ANALYST],
    ['missing partition filter', 'SELECT user_id FROM fct_tts_usage', 'partition-filter-required'],
    ['partition filter only on one side of OR', 'SELECT user_id FROM fct_tts_usage WHERE event_ts >= @since OR user_id = @u', 'partition-filter-required', { since: since(7), u: 'x' }],
    ['partition filter only in an outer query', 'SELECT user_id FROM (SELECT user_id, event_ts FROM fct_tts_usage) WHERE event_ts >= @since', 'partition-filter-required', { since: since(7) }],
    ['over-wide window (literal)', "SELECT user_id FROM fct_tts_usage WHERE event_ts >= TIMESTAMP '2025-01-01'", 'window-too-wide'],
    ['over-wide window (parameters)', 'SELECT user_id FROM fct_tts_usage WHERE event_ts BETWEEN @a AND @b', 'window-too-wide', { a: since(200), b: NOW }],
    ['over-wide window (function)', 'SELECT user_id FROM fct_logins WHERE login_ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 400 DAY)', 'window-too-wide'],
    ['SELECT * on a fact table', 'SELECT * FROM fct_tts_usage WHERE event_ts >= @since', 'select-star-on-fact', { since: since(7) }],
    ['t.* on a fact table', 'SELECT p.* FROM fct_payments p WHERE p.payment_ts >= @since', 'select-star-on-fact', { since: since(7) }],
    ['SELECT * EXCEPT on a fact', 'SELECT * EXCEPT (ip) FROM fct_tts_usage WHERE event_ts >= @since', 'select-star-on-fact', { since: since(7) }],
    ['system variable', 'SELECT @@project_id AS p', 'syntax-not-allowed'],
    ['time travel (reads erased rows)', "SELECT user_id FROM dim_users FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-01'", 'syntax-not-allowed'],
    ['unbound parameter', 'SELECT user_id FROM dim_users WHERE user_id = @id', 'unbound-parameter'],
  ];
  it.each(corpus)('%s', (_name, sql, rule, params = {}, actor = LEAD) => {
    expect(rules(sql, params, actor)[0]).toBe(rule);
  });

  it('reports every rule a query breaks: the 365-day SELECT * over usage', () => {
    expect(rules('SELECT * FROM fct_tts_usage WHERE event_ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 365 DAY)')).toEqual(['select-star-on-fact', 'window-too-wide']);
  });

  it('accepts what a lead may legitimately ask', () => {
    expect(rules(OK_USAGE)).toEqual([]);
    expect(rules('SELECT email FROM dim_users WHERE user_id = @id', { id: 'u' }, LEAD)).toEqual([]);
    expect(rules('SELECT plan, COUNT(*) AS n FROM dim_users GROUP BY plan', {}, ANALYST)).toEqual([]);
    expect(rules("SELECT user_id FROM fct_payments WHERE DATE(payment_ts) >= DATE_SUB(CURRENT_DATE(), INTERVAL 30 DAY)")).toEqual([]);
    expect(rules('SELECT `user_id` FROM `fct_tts_usage` WHERE event_ts >= @a AND event_ts < @b', { a: since(90), b: NOW })).toEqual([]);
  });
});

describe('the agent through the guard', () => {
  it('every planned step of every plan passes the guard for an analyst without PII access', () => {
    const values: Record<string, string> = { resolve_email: 'jane@example.com', resolve_user_id: 'usr_1', resolve_voice_id: 'voice_1', resolve_ip: '203.0.113.7', resolve_card_fingerprint: 'fp_x' };
    // The widest arguments the planner gives: the largest window the API accepts and the history lookback.
    for (const def of Object.values(STEPS)) {
      const args = def.args.parse({ value: values[def.name] ?? 'x', window_days: 90, lookback_days: HISTORY_DAYS });
      const params = def.bind(args, { now: NOW, accounts: ['usr_1', 'usr_2'], voices: ['voice_1'] } as never);
      const c = check(def.sql, params, ANALYST, 'planned');
      expect({ step: def.name, refusals: c.refusals }).toEqual({ step: def.name, refusals: [] });
    }
  });

  it('templates name contract tables directly (no {{markers}}): one SQL language', () => {
    for (const step of Object.values(STEPS)) expect(step.sql).not.toMatch(/\{\{/);
  });
});

describe('printing the accepted tree for each engine (never the input text)', () => {
  const duck = (sql: string, params: Record<string, ParamValue> = {}) => check(sql, params).render({ kind: 'duckdb', now: NOW }, 101);
  const bq = (sql: string, params: Record<string, ParamValue> = {}) => check(sql, params).render({ kind: 'bigquery', table: (t) => `\`p.d.${t}\`` }, 11);

  it('turns BigQuery spellings into DuckDB ones', () => {
    expect(duck(OK_USAGE)).toBe(
      `SELECT "user_id", SUM("characters") AS "c" FROM fct_tts_usage WHERE "event_ts" >= ((CAST('2026-03-01 12:00:00.000' AS TIMESTAMP)) - INTERVAL 7 DAY) GROUP BY "user_id" LIMIT 101`,
    );
    expect(duck('SELECT user_id FROM dim_users WHERE user_id IN UNNEST(@ids) AND plan = "pro" # note', { ids: ['a'] })).toBe(
      `SELECT "user_id" FROM dim_users WHERE "user_id" IN (SELECT UNNEST($ids)) AND "plan" = 'pro' LIMIT 101`,
    );
    expect(duck("SELECT CAST(characters AS FLOAT64) AS f, COUNTIF(source = 'api') AS n, SAFE_DIVIDE(1, 0) AS d, DATE_DIFF(DATE(event_ts), DATE '2026-01-01', DAY) AS age FROM fct_tts_usage WHERE event_ts >= @s GROUP BY 1, 4", { s: since(1) }))
      .toContain(`CAST("characters" AS DOUBLE) AS "f", count_if("source" = 'api') AS "n", (CASE WHEN (0) = 0 THEN NULL ELSE (1) / (0) END) AS "d", date_diff('day', DATE '2026-01-01', CAST("event_ts" AS DATE)) AS "age"`);
  });

  it('caps an existing LIMIT and spells tables for BigQuery', () => {
    expect(bq('SELECT user_id FROM dim_users u LIMIT 5000')).toBe('SELECT user_id FROM `p.d.dim_users` AS u LIMIT 11');
    expect(bq('SELECT user_id FROM dim_users u LIMIT 3')).toBe('SELECT user_id FROM `p.d.dim_users` AS u LIMIT 3');
  });

  it('drops comments and re-spells literals, so no engine reads text the guard did not parse (the nested-comment bypass)', () => {
    const bypass = "SELECT user_id /* /* */ FROM dim_users WHERE user_id = '*/, email, signup_ip FROM dim_users --'";
    expect(check(bypass).refusals).toEqual([]);
    expect(duck(bypass)).toBe(`SELECT "user_id" FROM dim_users WHERE "user_id" = '*/, email, signup_ip FROM dim_users --' LIMIT 101`);
    expect(bq(bypass)).toBe("SELECT user_id FROM `p.d.dim_users` WHERE user_id = '*/, email, signup_ip FROM dim_users --' LIMIT 11");
    // BigQuery escapes, raw and triple-quoted strings are decoded by the parser and spelled afresh.
    const quoted = String.raw`SELECT 'it\'s' AS a, r'x\y' AS b, '''l1
l2''' AS c, ` + '`user_id` FROM dim_users';
    expect(duck(quoted)).toBe(`SELECT 'it''s' AS "a", 'x\\y' AS "b", 'l1\nl2' AS "c", "user_id" FROM dim_users LIMIT 101`);
    expect(bq(quoted)).toBe(String.raw`SELECT 'it\'s' AS a, 'x\\y' AS b, 'l1\nl2' AS c, user_id FROM ` + '`p.d.dim_users` LIMIT 11');
  });

  it('prints a name that is a keyword or holds quotes as a quoted name, and refuses invisible characters in names', () => {
    const sql = 'SELECT user_id AS `select`, user_id AS `a"b` FROM dim_users';
    expect(duck(sql)).toBe(`SELECT "user_id" AS "select", "user_id" AS "a""b" FROM dim_users LIMIT 101`);
    expect(bq(sql)).toBe('SELECT user_id AS `select`, user_id AS `a"b` FROM `p.d.dim_users` LIMIT 11');
    expect(rules('SELECT user_id AS `a\u200bb` FROM dim_users')).toEqual(['syntax-not-allowed']);
    expect(rules('SELECT user_id AS `\u202Eevil` FROM dim_users')).toEqual(['syntax-not-allowed']);
  });
});

describe('one path to the warehouse', () => {
  it('nothing outside shared/guard and shared/warehouse imports an engine module', () => {
    const root = process.cwd();
    const engines = /from ['"][^'"]*warehouse\/(duckdb|bigquery)\.js['"]|import\(['"]@duckdb\/node-api['"]\)|from ['"]@google-cloud\/bigquery['"]/;
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts') && engines.test(readFileSync(path, 'utf8'))) offenders.push(relative(root, path));
      }
    };
    for (const top of ['shared', 'functions', 'cli']) walk(join(root, top));
    const allowed = /^shared\/(guard|warehouse)\//;
    // The loader and generator write the local file (not a query path); they import DuckDB's API directly.
    expect(offenders.filter((f) => !allowed.test(f))).toEqual([]);
  });
});
