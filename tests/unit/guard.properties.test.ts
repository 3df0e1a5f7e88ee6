import fc from 'fast-check';
import { compileQuery } from '../../shared/guard/compile.js';
import { DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { maxWindowDays, type GuardRule } from '../../shared/guard/rules.js';
import { CONTRACT, type TableName } from '../../shared/warehouse/contract.js';

/**
 * Property: random compositions of allowed fragments (columns, aggregates, window functions,
 * joins, partition bounds in various places and forms, CTE and subquery wrapping) are accepted
 * exactly when an independent model of what the fragments read says they may be, and an accepted
 * query reports exactly the tables, columns and time window the model computes. The model is
 * written from the SQL semantics of each fragment, not from the guard's code.
 * Runs: GUARD_PROPERTY_RUNS (default 300).
 */
const RUNS = Number(process.env.GUARD_PROPERTY_RUNS ?? 300);
const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const ACTORS = { analyst: { principal: 'analyst@example.com', roles: ['analyst'] }, lead: { principal: 'lead@example.com', roles: ['lead'] } };
const BASES = ['dim_users', 'fct_tts_usage', 'fct_logins', 'fct_payments', 'fct_moderation_flags'] as const satisfies readonly TableName[];
const columnsOf = (t: TableName) => CONTRACT[t].columns.map((c) => c.name);
const isPii = (t: TableName, c: string) => CONTRACT[t].columns.some((x) => x.name === c && x.pii);
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const startOfDay = (ms: number) => Math.floor(ms / DAY) * DAY;
const monthStart = (y: number, m: number) => Date.UTC(y, m, 1);

type BoundForm =
  | { kind: 'sub-days'; days: number }
  | { kind: 'date-sub'; days: number }
  | { kind: 'between'; back: number; span: number }
  | { kind: 'trunc-month'; monthsBack: number }
  | { kind: 'trunc-year'; year: number }
  | { kind: 'weak-and-strong'; days: number };
type Placement = 'where' | 'on' | 'or' | 'not' | 'none';
type JoinKind = 'none' | 'inner' | 'left-base-preserved' | 'left-base-filtered';
interface Item {
  fromJoin: boolean;
  col: number;
  wrap: 'plain' | 'count' | 'max' | 'window';
  orderCol: number;
}
interface Spec {
  base: (typeof BASES)[number];
  join: JoinKind;
  items: Item[];
  predicate: number | null;
  bound: BoundForm;
  placement: Placement;
  wrapping: 'none' | 'cte' | 'subquery';
  actor: 'analyst' | 'lead';
}

const boundArb: fc.Arbitrary<BoundForm> = fc.oneof(
  fc.record({ kind: fc.constant('sub-days' as const), days: fc.integer({ min: 0, max: 500 }) }),
  fc.record({ kind: fc.constant('date-sub' as const), days: fc.integer({ min: 0, max: 500 }) }),
  fc.record({ kind: fc.constant('between' as const), back: fc.integer({ min: 0, max: 800 }), span: fc.integer({ min: 0, max: 500 }) }),
  fc.record({ kind: fc.constant('trunc-month' as const), monthsBack: fc.integer({ min: 0, max: 24 }) }),
  fc.record({ kind: fc.constant('trunc-year' as const), year: fc.integer({ min: 2020, max: 2026 }) }),
  fc.record({ kind: fc.constant('weak-and-strong' as const), days: fc.integer({ min: 0, max: 500 }) }),
);
const itemArb = fc.record({ fromJoin: fc.boolean(), col: fc.nat(), wrap: fc.constantFrom('plain', 'count', 'max', 'window') as fc.Arbitrary<Item['wrap']>, orderCol: fc.nat() });
const specArb: fc.Arbitrary<Spec> = fc.record({
  base: fc.constantFrom(...BASES),
  join: fc.constantFrom('none', 'inner', 'left-base-preserved', 'left-base-filtered') as fc.Arbitrary<JoinKind>,
  items: fc.array(itemArb, { minLength: 1, maxLength: 4 }),
  predicate: fc.option(fc.nat(), { nil: null }),
  bound: boundArb,
  placement: fc.constantFrom('where', 'on', 'or', 'not', 'none') as fc.Arbitrary<Placement>,
  wrapping: fc.constantFrom('none', 'cte', 'subquery') as fc.Arbitrary<Spec['wrapping']>,
  actor: fc.constantFrom('analyst', 'lead') as fc.Arbitrary<Spec['actor']>,
});

/** The bound as SQL on `t.<p>`, and the instants it restricts the column to (the model). */
function bound(p: string, b: BoundForm): { sql: string; from: number; to: number | null } {
  const now = NOW.getTime();
  switch (b.kind) {
    case 'sub-days':
      return { sql: `t.${p} >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL ${b.days} DAY)`, from: now - b.days * DAY, to: null };
    case 'date-sub':
      // DATE(col) >= d holds from midnight of d on.
      return { sql: `DATE(t.${p}) >= DATE_SUB(CURRENT_DATE(), INTERVAL ${b.days} DAY)`, from: startOfDay(now) - b.days * DAY, to: null };
    case 'between': {
      const from = startOfDay(now) - b.back * DAY;
      return { sql: `t.${p} BETWEEN TIMESTAMP '${iso(from)}' AND TIMESTAMP '${iso(from + b.span * DAY)}'`, from, to: from + b.span * DAY };
    }
    case 'trunc-month': {
      // The month starting at M: every instant from M up to the next month's start.
      const m = 1 - b.monthsBack;
      const from = monthStart(2026, m);
      return { sql: `TIMESTAMP_TRUNC(t.${p}, MONTH) = TIMESTAMP '${iso(from)}'`, from, to: monthStart(2026, m + 1) };
    }
    case 'trunc-year':
      return { sql: `TIMESTAMP_TRUNC(t.${p}, YEAR) = TIMESTAMP '${b.year}-01-01'`, from: Date.UTC(b.year, 0, 1), to: Date.UTC(b.year + 1, 0, 1) };
    case 'weak-and-strong':
      return { sql: `t.${p} >= TIMESTAMP '2000-01-01' AND t.${p} >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL ${b.days} DAY)`, from: Math.max(Date.UTC(2000, 0, 1), now - b.days * DAY), to: null };
  }
}

interface Model {
  sql: string;
  reads: Map<TableName, Set<string>>;
  /** Window of the base table's read in days; null when nothing bounds every row of it. */
  windowDays: number | null;
  from: number | null;
  to: number | null;
  expected: GuardRule | null;
}

function build(s: Spec): Model {
  const base = s.base;
  const joined = s.join !== 'none';
  const p = CONTRACT[base].partitionColumn;
  const reads = new Map<TableName, Set<string>>();
  const read = (t: TableName, c: string) => (reads.get(t) ?? reads.set(t, new Set()).get(t)!).add(c);
  const pick = (t: TableName, i: number) => columnsOf(t)[i % columnsOf(t).length]!;

  const aggregated = s.items.some((i) => i.wrap === 'count' || i.wrap === 'max');
  const select: string[] = [];
  const groupBy: string[] = [];
  s.items.forEach((item, n) => {
    const [alias, table] = item.fromJoin && joined ? ['u', 'dim_users' as TableName] : ['t', base];
    const col = pick(table, item.col);
    read(table, col);
    const wrap = aggregated && item.wrap === 'window' ? 'plain' : item.wrap;
    if (wrap === 'plain') {
      select.push(`${alias}.${col} AS c${n}`);
      if (aggregated) groupBy.push(`${alias}.${col}`);
    } else if (wrap === 'count') select.push(`COUNT(${alias}.${col}) AS c${n}`);
    else if (wrap === 'max') select.push(`MAX(${alias}.${col}) AS c${n}`);
    else {
      const order = pick(base, item.orderCol);
      read(base, order);
      select.push(`ROW_NUMBER() OVER (PARTITION BY ${alias}.${col} ORDER BY t.${order}) AS c${n}`);
    }
  });

  const where: string[] = [];
  const on: string[] = [];
  if (s.predicate !== null) {
    const col = pick(base, s.predicate);
    read(base, col);
    where.push(`t.${col} IS NOT NULL`);
  }
  let from: number | null = null;
  let to: number | null = null;
  const placement: Placement = p === null ? 'none' : s.placement === 'on' && !joined ? 'where' : s.placement;
  if (p !== null && placement !== 'none') {
    const b = bound(p, s.bound);
    read(base, p);
    if (placement === 'where') where.push(`(${b.sql})`);
    else if (placement === 'on') on.push(b.sql);
    else if (placement === 'or') {
      read(base, 'user_id');
      where.push(`(${b.sql} OR t.user_id = 'zz')`);
    } else where.push(`NOT (${b.sql})`);
    // WHERE filters every row; ON filters the base only where the join does not preserve it.
    const applies = placement === 'where' || (placement === 'on' && (s.join === 'inner' || s.join === 'left-base-filtered'));
    if (applies) [from, to] = [b.from, b.to];
  }

  let fromSql = `${base} AS t`;
  if (joined) {
    read(base, 'user_id');
    read('dim_users', 'user_id');
    const cond = ['u.user_id = t.user_id', ...on].join(' AND ');
    fromSql =
      s.join === 'inner' ? `${base} AS t JOIN dim_users AS u ON ${cond}`
      : s.join === 'left-base-preserved' ? `${base} AS t LEFT JOIN dim_users AS u ON ${cond}`
      : `dim_users AS u LEFT JOIN ${base} AS t ON ${cond}`;
  }
  let inner = `SELECT ${select.join(', ')} FROM ${fromSql}`;
  if (where.length) inner += ` WHERE ${where.join(' AND ')}`;
  if (groupBy.length) inner += ` GROUP BY ${groupBy.join(', ')}`;
  const outputs = s.items.map((_, n) => `c${n}`).join(', ');
  const sql = s.wrapping === 'cte' ? `WITH q AS (${inner}) SELECT ${outputs} FROM q` : s.wrapping === 'subquery' ? `SELECT ${outputs} FROM (${inner}) AS q` : inner;

  const windowDays = from === null ? null : ((to ?? NOW.getTime()) - from) / DAY;
  const pii = s.actor === 'analyst' && [...reads].some(([t, cols]) => [...cols].some((c) => isPii(t, c)));
  const max = maxWindowDays(DEFAULT_GUARD_SETTINGS, base);
  const expected: GuardRule | null = pii ? 'pii-not-permitted' : p === null ? null : windowDays === null ? 'partition-filter-required' : windowDays > max + 1e-9 ? 'window-too-wide' : null;
  return { sql, reads, windowDays, from, to, expected };
}

describe('random compositions of allowed fragments', () => {
  it(`are accepted exactly when the model allows them, and then report what the model reads (${RUNS} runs)`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(specArb, (spec) => {
        const m = build(spec);
        const c = compileQuery({ sql: m.sql, params: {}, actor: ACTORS[spec.actor], origin: 'adhoc', policy: DEFAULT_GUARD_SETTINGS, now: NOW });
        expect({ sql: m.sql, rule: c.refusals[0]?.rule ?? null }).toEqual({ sql: m.sql, rule: m.expected });
        // Whatever is refused or accepted, what the guard says is read is what the fragments read.
        const modelColumns = Object.fromEntries([...m.reads].map(([t, cols]) => [t, [...cols].sort()]));
        expect(c.columns).toEqual(modelColumns);
        expect([...c.tables].sort()).toEqual([...m.reads.keys()].sort());
        if (m.expected !== null) return;
        accepted++;
        for (const t of c.tables) expect(Object.keys(CONTRACT)).toContain(t);
        const scan = c.scans.find((x) => x.table === spec.base)!;
        if (CONTRACT[spec.base].partitionColumn) {
          expect(scan.from?.getTime()).toBe(m.from);
          expect(scan.to?.getTime() ?? null).toBe(m.to);
          expect(m.windowDays!).toBeLessThanOrEqual(maxWindowDays(DEFAULT_GUARD_SETTINGS, spec.base));
        }
        // An accepted query prints for both engines, and the BigQuery print reads back as the same query.
        expect(c.render({ kind: 'duckdb', now: NOW }, 10)).toMatch(/^(WITH|SELECT) /);
        const printed = c.render({ kind: 'bigquery', table: (t) => t }, 10);
        const again = compileQuery({ sql: printed, params: {}, actor: ACTORS[spec.actor], origin: 'adhoc', policy: DEFAULT_GUARD_SETTINGS, now: NOW });
        expect({ refusals: again.refusals, columns: again.columns, scans: again.scans }).toEqual({ refusals: [], columns: c.columns, scans: c.scans });
        expect(again.render({ kind: 'bigquery', table: (t) => t }, 10)).toBe(printed);
      }),
      { numRuns: RUNS, seed: process.env.GUARD_PROPERTY_SEED ? Number(process.env.GUARD_PROPERTY_SEED) : undefined },
    );
    // The generator reaches both outcomes (a property that only ever refuses proves little).
    expect(accepted).toBeGreaterThan(RUNS / 20);
  });
});
