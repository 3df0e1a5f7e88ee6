import fc from 'fast-check';
import { DEFAULT_GUARD_SETTINGS } from '../../shared/guard/guarded.js';
import { maxWindowDays, type GuardRule } from '../../shared/guard/rules.js';
import { CONTRACT, type TableName } from '../../shared/warehouse/contract.js';

/**
 * Random compositions of allowed query fragments (columns, arrays, UNNEST, aggregates, window
 * functions, joins, partition bounds in various places and forms, HAVING, CTE and subquery
 * wrapping), each with an independent model of what it reads: the tables and columns, the time
 * window of the base table (from the SQL semantics of the fragment, not from the guard's code),
 * and so the rule the guard must refuse it by, if any. Used by tests/unit/guard.properties.test.ts
 * and tests/integration/guard.properties.test.ts.
 */
export const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
export const ACTORS = { analyst: { principal: 'analyst@example.com', roles: ['analyst'] }, lead: { principal: 'lead@example.com', roles: ['lead'] } };
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
type Placement = 'where' | 'on' | 'or' | 'not' | 'having' | 'none';
type JoinKind = 'none' | 'inner' | 'left-base-preserved' | 'left-base-filtered';
interface Item {
  fromJoin: boolean;
  col: number;
  wrap: 'plain' | 'count' | 'max' | 'window' | 'array';
  orderCol: number;
}
export interface Spec {
  base: (typeof BASES)[number];
  join: JoinKind;
  items: Item[];
  predicate: number | null;
  /** A column of the base table unnested as `x` and selected. */
  unnest: number | null;
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
const itemArb = fc.record({ fromJoin: fc.boolean(), col: fc.nat(), wrap: fc.constantFrom('plain', 'count', 'max', 'window', 'array') as fc.Arbitrary<Item['wrap']>, orderCol: fc.nat() });
export const specArb: fc.Arbitrary<Spec> = fc.record({
  base: fc.constantFrom(...BASES),
  join: fc.constantFrom('none', 'inner', 'left-base-preserved', 'left-base-filtered') as fc.Arbitrary<JoinKind>,
  items: fc.array(itemArb, { minLength: 1, maxLength: 4 }),
  predicate: fc.option(fc.nat(), { nil: null }),
  unnest: fc.option(fc.nat(), { nil: null }),
  bound: boundArb,
  placement: fc.constantFrom('where', 'on', 'or', 'not', 'having', 'none') as fc.Arbitrary<Placement>,
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

export interface Model {
  sql: string;
  reads: Map<TableName, Set<string>>;
  /** Window of the base table's read in days; null when nothing bounds every row of it. */
  windowDays: number | null;
  from: number | null;
  to: number | null;
  expected: GuardRule | null;
}

export function build(s: Spec): Model {
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
    if (wrap === 'plain' || wrap === 'array') {
      // An array of a column carries the column's values (PII included).
      select.push(wrap === 'array' ? `[${alias}.${col}] AS c${n}` : `${alias}.${col} AS c${n}`);
      if (aggregated) groupBy.push(`${alias}.${col}`);
    } else if (wrap === 'count') select.push(`COUNT(${alias}.${col}) AS c${n}`);
    else if (wrap === 'max') select.push(`MAX(${alias}.${col}) AS c${n}`);
    else {
      const order = pick(base, item.orderCol);
      read(base, order);
      select.push(`ROW_NUMBER() OVER (PARTITION BY ${alias}.${col} ORDER BY t.${order}) AS c${n}`);
    }
  });

  const outputs = s.items.map((_, n) => `c${n}`);
  if (s.unnest !== null) {
    const col = pick(base, s.unnest);
    read(base, col);
    select.push(aggregated ? `MAX(x) AS c${outputs.length}` : `x AS c${outputs.length}`);
    outputs.push(`c${outputs.length}`);
  }
  const where: string[] = [];
  const having: string[] = [];
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
    } else if (placement === 'having') having.push(`MIN(t.${p}) >= TIMESTAMP '${iso(b.from)}'`);
    else where.push(`NOT (${b.sql})`);
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
  if (s.unnest !== null) fromSql += `, UNNEST([t.${pick(base, s.unnest)}]) AS x`;
  let inner = `SELECT ${select.join(', ')} FROM ${fromSql}`;
  if (where.length) inner += ` WHERE ${where.join(' AND ')}`;
  if (groupBy.length) inner += ` GROUP BY ${groupBy.join(', ')}`;
  if (having.length) inner += ` HAVING ${having.join(' AND ')}`;
  const list = outputs.join(', ');
  const sql = s.wrapping === 'cte' ? `WITH q AS (${inner}) SELECT ${list} FROM q` : s.wrapping === 'subquery' ? `SELECT ${list} FROM (${inner}) AS q` : inner;

  const windowDays = from === null ? null : ((to ?? NOW.getTime()) - from) / DAY;
  const pii = s.actor === 'analyst' && [...reads].some(([t, cols]) => [...cols].some((c) => isPii(t, c)));
  const max = maxWindowDays(DEFAULT_GUARD_SETTINGS, base);
  const expected: GuardRule | null = pii ? 'pii-not-permitted' : p === null ? null : windowDays === null ? 'partition-filter-required' : windowDays > max + 1e-9 ? 'window-too-wide' : null;
  return { sql, reads, windowDays, from, to, expected };
}

