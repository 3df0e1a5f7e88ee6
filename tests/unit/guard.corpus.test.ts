import { compileQuery, UnparseableSql } from '../../shared/guard/compile.js';
import { DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { GUARD_RULES, type GuardRule } from '../../shared/guard/rules.js';
import { CORPUS_NOW, HOSTILE_SQL, type HostileQuery } from '../corpus/hostile-sql.js';

/** The hostile corpus against the pure guard: each entry refused by the rule it names. */
const ACTORS = { analyst: { principal: 'analyst@example.com', roles: ['analyst'] }, lead: { principal: 'lead@example.com', roles: ['lead'] } };

function compile(q: HostileQuery, sql = q.sql) {
  return compileQuery({ sql, params: q.params ?? {}, actor: ACTORS[q.actor ?? 'analyst'], origin: 'adhoc', policy: DEFAULT_GUARD_SETTINGS, now: CORPUS_NOW });
}

function firstRule(q: HostileQuery): { rule: GuardRule | null; columns: Record<string, string[]> } {
  try {
    const c = compile(q);
    return { rule: c.refusals[0]?.rule ?? null, columns: c.columns };
  } catch (error) {
    if (error instanceof UnparseableSql) return { rule: 'unparseable', columns: {} };
    throw error;
  }
}

describe('the hostile-SQL corpus against the guard rules', () => {
  it('holds at least 200 queries, names only real rules, and has no duplicates', () => {
    expect(HOSTILE_SQL.length).toBeGreaterThanOrEqual(200);
    for (const q of HOSTILE_SQL) if (q.rule) expect(GUARD_RULES).toContain(q.rule);
    expect(new Set(HOSTILE_SQL.map((q) => JSON.stringify([q.sql, q.params, q.actor]))).size).toBe(HOSTILE_SQL.length);
    expect(new Set(HOSTILE_SQL.map((q) => `${q.category}/${q.name}`)).size).toBe(HOSTILE_SQL.length);
    // Every rule a query alone can break appears (over-budget needs an engine estimate).
    const named = new Set(HOSTILE_SQL.map((q) => q.rule));
    expect(GUARD_RULES.filter((r) => r !== 'over-budget' && !named.has(r))).toEqual([]);
    expect(HOSTILE_SQL.filter((q) => q.rule === null).length).toBeGreaterThanOrEqual(20);
  });

  it.each(HOSTILE_SQL.map((q) => [`${q.category}: ${q.name}`, q] as const))('%s', (_label, q) => {
    const { rule, columns } = firstRule(q);
    expect(rule).toBe(q.rule);
    if (q.rule === null && q.reads) expect(columns).toEqual(q.reads);
    if (q.rule === null) {
      // What an engine receives reads back as the same query, with no comment left in it.
      const c = compile(q);
      const printed = c.render({ kind: 'bigquery', table: (t) => t }, 10);
      const again = compile(q, printed);
      expect({ refusals: again.refusals, columns: again.columns, scans: again.scans }).toEqual({ refusals: [], columns: c.columns, scans: c.scans });
      expect(again.render({ kind: 'bigquery', table: (t) => t }, 10)).toBe(printed);
      expect(again.normalisedSql).toBe(printed);
    }
  });
});
