import { permissionsOf } from '../auth/policy.js';
import { CONTRACT, columnSpec, type ColumnRef, type TableName } from '../warehouse/contract.js';
import type { QueryActor, QueryOrigin } from '../warehouse/port.js';
import type { Analysis } from './analyse.js';
import { SUPPORTED_FUNCTIONS } from './translate.js';

/**
 * The guard's policy: pure rules over the analysis of a query and who asks. Each refusal names a
 * stable rule id (API clients and the audit trail key on it). Checked in this order, first one wins.
 */
export const GUARD_RULES = [
  'unparseable',
  'single-statement',
  'read-only',
  'syntax-not-allowed',
  'function-not-allowed',
  'table-not-allowed',
  'column-not-allowed',
  'select-star-on-fact',
  'pii-not-permitted',
  'partition-filter-required',
  'window-too-wide',
  'over-budget',
  'unbound-parameter',
] as const;
export type GuardRule = (typeof GUARD_RULES)[number];

/** The rules checkStructure returns: a query broken this way is neither analysed further nor priced. */
export const STRUCTURAL_RULES: ReadonlySet<GuardRule> = new Set(['single-statement', 'read-only', 'syntax-not-allowed', 'function-not-allowed', 'table-not-allowed', 'column-not-allowed']);


export interface WindowPolicy {
  /** Widest partition window in days, for every partitioned table without its own entry. */
  maxWindowDays: number;
  windowDaysByTable: Partial<Record<TableName, number>>;
}

export const PII_PERMISSION = 'investigations.read_pii';
const DAY_MS = 86_400_000;

export interface Refusal {
  rule: GuardRule;
  detail: string;
  extras?: Record<string, unknown>;
}

export function maxWindowDays(policy: WindowPolicy, table: TableName): number {
  return policy.windowDaysByTable[table] ?? policy.maxWindowDays;
}

/**
 * Every rule the query breaks, in rule order. The structural rules (up to `column-not-allowed`)
 * stop the check: past them the analysis cannot be trusted. The others are all reported, so a
 * caller learns at once that a query is both `SELECT *` on a fact and too wide.
 */
export function checkQuery(a: Analysis, ctx: { actor: QueryActor; origin: QueryOrigin; policy: WindowPolicy; now: Date; params: Record<string, unknown> }): Refusal[] {
  const structural = checkStructure(a);
  if (structural) return [structural];
  const out: Refusal[] = [];
  const starFacts = unique(a.starTables.filter((t) => CONTRACT[t].partitionColumn !== null));
  if (starFacts.length) {
    out.push({ rule: 'select-star-on-fact', detail: `SELECT * on fact table(s) ${starFacts.join(', ')} is refused; name the columns you need.`, extras: { tables: starFacts } });
  }
  if (!permissionsOf(ctx.actor.roles).has(PII_PERMISSION as never)) {
    // Reviewed templates may compare PII (find the account with this email) without returning it;
    // free-form SQL could use a filter as an oracle, so any reference to PII needs the permission.
    const strict = ctx.origin === 'adhoc' || ctx.origin === 'proposed';
    const touched: ColumnRef[] = strict ? [...a.columns].flatMap(([t, cols]) => [...cols].map((c) => `${t}.${c}` as ColumnRef)) : [...a.exposed];
    const pii = unique(touched.filter((ref) => columnSpec(ref).pii)).sort();
    if (pii.length) {
      out.push({ rule: 'pii-not-permitted', detail: `Column(s) ${pii.join(', ')} hold personal data; ${strict ? 'using' : 'returning'} them needs the "${PII_PERMISSION}" permission.`, extras: { columns: pii } });
    }
  }
  const missing = a.params.filter((p) => !Object.prototype.hasOwnProperty.call(ctx.params, p));
  if (missing.length) out.push({ rule: 'unbound-parameter', detail: `Missing value(s) for parameter(s): ${missing.map((p) => '@' + p).join(', ')}.` });
  for (const use of a.tables) {
    const spec = CONTRACT[use.table];
    if (!spec.partitionColumn) continue;
    const max = maxWindowDays(ctx.policy, use.table);
    if (use.from === null) {
      out.push({
        rule: 'partition-filter-required',
        detail: `${use.table} must be filtered on ${spec.partitionColumn} with a lower bound known before the query runs (a parameter, a literal or CURRENT_TIMESTAMP() arithmetic), at most ${max} days wide.`,
        extras: { table: use.table, partition_column: spec.partitionColumn, max_window_days: max },
      });
      continue;
    }
    const to = use.to ?? ctx.now.getTime();
    const days = (to - use.from) / DAY_MS;
    if (days > max + 1e-9) {
      out.push({
        rule: 'window-too-wide',
        detail: `${use.table} is read over ${round(days)} days of ${spec.partitionColumn}; the maximum is ${max} days.`,
        extras: { table: use.table, window_days: round(days), max_window_days: max },
      });
    }
  }
  // One entry per rule: the first table that breaks it speaks for the rule.
  return out.filter((r, i) => out.findIndex((o) => o.rule === r.rule) === i);
}

function checkStructure(a: Analysis): Refusal | null {
  if (a.statementTypes.length !== 1) {
    return { rule: 'single-statement', detail: `Exactly one statement is accepted; this text holds ${a.statementTypes.length}.` };
  }
  const type = a.statementTypes[0]!;
  if (type !== 'select_stmt' && type !== 'compound_select_stmt') {
    return { rule: 'read-only', detail: `Only a SELECT query (optionally WITH ...) is accepted, not ${type.replace(/_stmt$/, '').replace(/_/g, ' ').toUpperCase()}.` };
  }
  if (a.disallowedSyntax.length) {
    return { rule: 'syntax-not-allowed', detail: `Not in the accepted SQL subset: ${unique(a.disallowedSyntax).join(', ')}.` };
  }
  const badFunctions = a.functions.filter((f) => !SUPPORTED_FUNCTIONS.has(f));
  if (badFunctions.length) {
    return { rule: 'function-not-allowed', detail: `Function(s) outside the accepted subset: ${unique(badFunctions).join(', ')}.`, extras: { functions: unique(badFunctions) } };
  }
  if (a.unknownTables.length) {
    return { rule: 'table-not-allowed', detail: `Only warehouse contract tables may be read, by their contract names; not: ${unique(a.unknownTables).join(', ')}.`, extras: { tables: unique(a.unknownTables) } };
  }
  if (a.unknownColumns.length) {
    return { rule: 'column-not-allowed', detail: `Unknown or non-contract column(s): ${unique(a.unknownColumns).join(', ')}.`, extras: { columns: unique(a.unknownColumns) } };
  }
  return null;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
