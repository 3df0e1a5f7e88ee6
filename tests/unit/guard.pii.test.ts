import { compileQuery } from '../../shared/guard/compile.js';
import { describeSql } from '../../shared/guard/describe.js';
import { DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import type { QueryOrigin } from '../../shared/warehouse/port.js';

/** Personal data reaching a result through arrays, UNNEST, aliases, CTEs and subqueries. */
const NOW = new Date('2026-03-01T12:00:00Z');
const ANALYST = { principal: 'analyst@example.com', roles: ['analyst'] };
const LEAD = { principal: 'lead@example.com', roles: ['lead'] };

const compile = (sql: string, actor = ANALYST, origin: QueryOrigin = 'adhoc') => compileQuery({ sql, params: {}, actor, origin, policy: DEFAULT_GUARD_SETTINGS, now: NOW });
const exposedPii = (sql: string) => [...compile(sql, LEAD).analysis.exposed].filter((c) => ['dim_users.email', 'dim_users.signup_ip', 'dim_users.display_name'].includes(c)).sort();

describe('values unnested from an array are the values they were built from', () => {
  const UNNESTED = [
    ['UNNEST of an array literal', 'SELECT e FROM dim_users, UNNEST([email]) AS e'],
    ['UNNEST without AS', 'SELECT e FROM dim_users, UNNEST([email]) e'],
    ['UNNEST of a qualified column', 'SELECT e FROM dim_users u, UNNEST([u.email]) AS e'],
    ['UNNEST through a CTE', 'WITH x AS (SELECT e FROM dim_users, UNNEST([email]) AS e) SELECT e AS y FROM x'],
    ['UNNEST in a derived table', 'SELECT z FROM (SELECT e AS z FROM dim_users, UNNEST([email, user_id]) AS e)'],
    ['UNNEST in a scalar subquery', 'SELECT (SELECT e FROM UNNEST([email]) AS e) AS v FROM dim_users'],
    ['ARRAY wrapping', 'SELECT [email] AS a FROM dim_users'],
    ['ARRAY[] wrapping', 'SELECT ARRAY[email] AS a FROM dim_users'],
    ['STRUCT wrapping', 'SELECT STRUCT(email AS x) AS s FROM dim_users'],
    ['a field of an unnested STRUCT', 'SELECT e.x FROM dim_users, UNNEST([STRUCT(email AS x)]) AS e'],
    ['SELECT * over an UNNEST', 'SELECT * FROM dim_users, UNNEST([email]) AS e'],
  ] as const;

  it.each(UNNESTED)('%s reports email as a personal-data column reaching the result', (_name, sql) => {
    expect(exposedPii(sql)).toContain('dim_users.email');
  });

  it.each(UNNESTED)('%s is refused for an analyst, also as reviewed SQL (where only returning PII is refused)', (_name, sql) => {
    // STRUCT is outside the printable subset: refused before the PII rule is reached.
    const expected = sql.includes('STRUCT') ? 'syntax-not-allowed' : 'pii-not-permitted';
    expect(compile(sql, ANALYST, 'planned').refusals.map((r) => r.rule)).toEqual([expected]);
    expect(compile(sql, ANALYST, 'adhoc').refusals.map((r) => r.rule)).toEqual([expected]);
  });

  it('counting unnested values does not return them, and describeSql still lists the column read', () => {
    expect(exposedPii('SELECT COUNT(e) AS n FROM dim_users, UNNEST([email]) AS e')).toEqual([]);
    expect(describeSql('SELECT COUNT(e) AS n FROM dim_users, UNNEST([email]) AS e').columns).toEqual({ dim_users: ['email'] });
    expect(compile('SELECT COUNT(e) AS n FROM dim_users, UNNEST([email]) AS e', ANALYST, 'planned').refusals).toEqual([]);
  });

  it('a lead may run the UNNEST query, and it is printed for DuckDB with the value named as BigQuery names it', () => {
    const c = compile('SELECT e FROM dim_users, UNNEST([email]) AS e', LEAD);
    expect(c.refusals).toEqual([]);
    expect(c.render({ kind: 'duckdb', now: NOW }, 5)).toBe('SELECT "e" FROM dim_users, UNNEST(["email"]) AS "e"("e") LIMIT 5');
  });
});
