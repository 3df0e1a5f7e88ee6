import type { Program } from 'sql-parser-cst';
import { CONTRACT, isTableName, type ColumnRef, type TableName } from '../warehouse/contract.js';
import type { ParamValue } from '../warehouse/port.js';
import { callArgs, children, functionName, isNode, keywordName, print, type Node } from './parse.js';

/**
 * What a parsed query does, found by walking the BigQuery-dialect tree with SQL scoping rules:
 * which contract tables it reads (through CTEs, subqueries, joins and aliases), which of their
 * columns it reads, which columns reach its result (for PII), where it selects `*`, what time
 * range each partitioned table is filtered to, which parameters it uses and which functions.
 * Pure: the rules (rules.ts) decide what to refuse from these facts.
 */
export interface TableUse {
  table: TableName;
  /** The FROM-clause name node, rewritten to the engine's spelling. */
  node: Node;
  /** Partition filter found for this reference (epoch ms); null bounds are open. */
  from: number | null;
  to: number | null;
  /** The filter names the partition column but its bound could not be evaluated. */
  unevaluated: boolean;
}

export interface Analysis {
  statementTypes: string[];
  tables: TableUse[];
  /** Names in FROM that are not contract tables or CTEs (qualified names, INFORMATION_SCHEMA, table functions). */
  unknownTables: string[];
  /** Column names that resolve to nothing in scope. */
  unknownColumns: string[];
  /** Contract columns read anywhere (select, filters, joins, grouping, ordering). */
  columns: Map<TableName, Set<string>>;
  /** Contract columns whose values can reach the result (COUNT arguments and window specs excluded). */
  exposed: Set<ColumnRef>;
  /** Contract tables selected with `*` / `t.*`. */
  starTables: TableName[];
  params: string[];
  /** Parameter → the contract column it is compared with (for masking in lineage). */
  paramBindings: Record<string, ColumnRef>;
  functions: string[];
  /** Syntax outside the accepted subset (system variables, time travel, ...). */
  disallowedSyntax: string[];
  /** FROM-clause name nodes that refer to a CTE (the printer spells them as names, not tables). */
  cteRefs: Node[];
  /** Uses the current time or randomness: never cached. */
  nondeterministic: boolean;
}

export interface AnalysisContext {
  params: Record<string, ParamValue>;
  now: Date;
}

type Origins = Set<ColumnRef>;
interface Output {
  name: string | null;
  origins: Origins;
}
type Source =
  | { kind: 'table'; table: TableName; use: TableUse }
  | { kind: 'derived'; outputs: Output[] }
  /** UNNEST(...) in FROM: one value per row, carrying whatever the array was built from. */
  | { kind: 'value'; name: string | null; origins: Origins };

interface ScopeItem {
  alias: string | null;
  source: Source;
}
interface Scope {
  items: ScopeItem[];
  ctes: Map<string, Output[]>;
  parent: Scope | null;
  outputs: Output[];
}

/** The AND-ed terms of one JOIN's ON and the FROM items whose rows they filter. */
interface JoinBound {
  conjuncts: Node[];
  items: Set<ScopeItem>;
}

const NON_EXPOSING = new Set(['COUNT', 'COUNTIF', 'APPROX_COUNT_DISTINCT']);
const NONDETERMINISTIC = new Set(['CURRENT_TIMESTAMP', 'CURRENT_DATE', 'CURRENT_DATETIME', 'CURRENT_TIME', 'RAND', 'GENERATE_UUID', 'SESSION_USER']);
/** Functions whose argument at this index is a date part, not a column. */
const UNIT_ARG: Record<string, number> = { TIMESTAMP_TRUNC: 1, DATE_TRUNC: 1, DATE_DIFF: 2, TIMESTAMP_DIFF: 2 };
const OPAQUE = new Set(['keyword', 'string_literal', 'number_literal', 'boolean_literal', 'null_literal', 'timestamp_literal', 'date_literal', 'datetime_literal', 'time_literal', 'json_literal', 'numeric_literal', 'bignumeric_literal', 'bignumeric_literal', 'data_type_name', 'parametric_data_type', 'interval_unit', 'line_comment', 'block_comment', 'space', 'newline', 'empty']);

const lower = (s: string) => s.toLowerCase();

export function analyse(program: Program, ctx: AnalysisContext): Analysis {
  const a: Analysis = {
    statementTypes: (program.statements as unknown as Node[]).filter((s) => s.type !== 'empty').map((s) => s.type),
    tables: [],
    unknownTables: [],
    unknownColumns: [],
    columns: new Map(),
    exposed: new Set(),
    starTables: [],
    params: [],
    paramBindings: {},
    functions: [],
    disallowedSyntax: [],
    cteRefs: [],
    nondeterministic: false,
  };
  const stmt = (program.statements as unknown as Node[]).find((s) => s.type !== 'empty');
  if (a.statementTypes.length !== 1 || !stmt || (stmt.type !== 'select_stmt' && stmt.type !== 'compound_select_stmt')) return a;
  const walker = new Walker(a, ctx);
  const outputs = walker.query(stmt, null, []);
  for (const o of outputs) for (const ref of o.origins) a.exposed.add(ref);
  return a;
}

class Walker {
  private readonly handledWith = new WeakSet<Node>();

  constructor(
    private readonly a: Analysis,
    private readonly ctx: AnalysisContext,
  ) {}

  // ---------------------------------------------------------------- queries

  query(node: Node, parent: Scope | null, extraAliases: Output[]): Output[] {
    if (node.type === 'paren_expr') return this.query(node.expr as Node, parent, extraAliases);
    if (node.type === 'compound_select_stmt') {
      // The parser hangs a leading WITH on the left branch and a trailing ORDER BY/LIMIT on the
      // right one; in SQL both belong to the whole compound, so CTEs are shared by both sides.
      const shared: Scope = { items: [], ctes: new Map(), parent, outputs: [] };
      let leftmost = node.left as Node;
      while (leftmost.type === 'compound_select_stmt') leftmost = leftmost.left as Node;
      const withClause = leftmost.type === 'select_stmt' ? (leftmost.clauses as Node[]).find((c) => c.type === 'with_clause') : undefined;
      if (withClause) {
        this.ctes(withClause, shared);
        this.handledWith.add(withClause);
      }
      const left = this.query(node.left as Node, shared, []);
      const right = this.query(node.right as Node, shared, left);
      return left.map((o, i) => ({ name: o.name, origins: union(o.origins, right[i]?.origins ?? new Set()) }));
    }
    if (node.type === 'select_stmt') return this.select(node, parent, extraAliases);
    this.a.disallowedSyntax.push(node.type);
    return [];
  }

  /** Non-recursive CTEs, each visible to the ones after it and to the query. */
  private ctes(withClause: Node, into: Scope): void {
    if (withClause.recursiveKw) this.a.disallowedSyntax.push('WITH RECURSIVE');
    for (const cte of ((withClause.tables as Node).items as Node[]) ?? []) {
      into.ctes.set(lower(String((cte.table as Node).name)), this.query(cte.expr as Node, into, []));
    }
  }

  private select(stmt: Node, parent: Scope | null, extraAliases: Output[]): Output[] {
    const clauses = stmt.clauses as Node[];
    let ctes = new Map<string, Output[]>();
    let scopeParent = parent;
    const withClause = clauses.find((c) => c.type === 'with_clause');
    if (withClause && !this.handledWith.has(withClause)) {
      const cteScope: Scope = { items: [], ctes, parent, outputs: [] };
      this.ctes(withClause, cteScope);
      scopeParent = cteScope;
      ctes = new Map();
    }
    const scope: Scope = { items: [], ctes, parent: scopeParent, outputs: [] };
    /** The top-level AND-ed terms of WHERE: filters that hold for every row read. */
    const conjuncts: Node[] = [];
    const joins: JoinBound[] = [];
    let outputs: Output[] = [];

    const inner = clauses.find((c) => c.type === 'paren_expr');
    if (inner) outputs = this.query(inner, scope, []);

    const from = clauses.find((c) => c.type === 'from_clause');
    if (from) this.fromItem(from.expr as Node, scope, joins);
    const where = clauses.find((c) => c.type === 'where_clause');
    if (where) {
      this.expr(where.expr as Node, scope, false);
      conjuncts.push(...splitAnd(where.expr as Node));
    }
    const select = clauses.find((c) => c.type === 'select_clause');
    if (select) {
      for (const m of (select.modifiers as Node[]) ?? []) {
        const kw = keywordName(m);
        if (kw.includes('AS STRUCT') || kw.includes('AS VALUE')) this.a.disallowedSyntax.push(`SELECT ${kw}`);
      }
      outputs = [];
      for (const item of ((select.columns as Node).items as Node[]) ?? []) outputs.push(...this.selectItem(item, scope));
    }
    scope.outputs = [...outputs, ...extraAliases];
    for (const c of clauses) {
      if (['with_clause', 'paren_expr', 'from_clause', 'where_clause', 'select_clause', 'limit_clause'].includes(c.type)) continue;
      if (c.type === 'for_system_time_as_of_clause') this.a.disallowedSyntax.push('FOR SYSTEM_TIME AS OF');
      if (c.type === 'window_clause') {
        // Window names are not columns: only the definitions read anything.
        for (const w of ((c.namedWindows as Node).items as Node[]) ?? []) this.expr(w.window as Node, scope, false);
        continue;
      }
      this.expr(c, scope, false);
    }
    const limit = clauses.find((c) => c.type === 'limit_clause');
    if (limit) this.expr(limit, scope, false);
    this.partitionBounds(scope, conjuncts, joins);
    return outputs;
  }

  private selectItem(item: Node, scope: Scope): Output[] {
    if (item.type === 'all_columns') return this.star(scope, null);
    if (item.type === 'except_columns' || item.type === 'replace_columns') return this.selectItem(item.expr as Node, scope);
    if (item.type === 'member_expr' && isNode(item.property) && (item.property as Node).type === 'all_columns') {
      const alias = (item.object as Node).type === 'identifier' ? lower(String((item.object as Node).name)) : null;
      return this.star(scope, alias);
    }
    if (item.type === 'alias') {
      return [{ name: lower(String((item.alias as Node).name)), origins: this.expr(item.expr as Node, scope, true) }];
    }
    const origins = this.expr(item, scope, true);
    const name = item.type === 'identifier' ? lower(String(item.name)) : item.type === 'member_expr' && (item.property as Node).type === 'identifier' ? lower(String((item.property as Node).name)) : null;
    return [{ name, origins }];
  }

  private star(scope: Scope, alias: string | null): Output[] {
    const out: Output[] = [];
    const items = scope.items.filter((i) => alias === null || i.alias === alias);
    if (alias !== null && items.length === 0) {
      this.a.unknownColumns.push(`${alias}.*`);
      return out;
    }
    for (const { source } of items) {
      if (source.kind === 'table') {
        this.a.starTables.push(source.table);
        for (const c of CONTRACT[source.table].columns) out.push({ name: c.name, origins: new Set([this.read(source.table, c.name)]) });
      } else if (source.kind === 'derived') out.push(...source.outputs);
      else out.push({ name: source.name, origins: source.origins });
    }
    return out;
  }

  // ---------------------------------------------------------------- FROM

  private fromItem(node: Node, scope: Scope, joins: JoinBound[], alias: string | null = null): void {
    switch (node.type) {
      case 'join_expr': {
        const start = scope.items.length;
        this.fromItem(node.left as Node, scope, joins);
        const middle = scope.items.length;
        this.fromItem(node.right as Node, scope, joins);
        const spec = node.specification as Node | undefined;
        if (spec?.type === 'join_on_specification') {
          this.expr(spec.expr as Node, scope, false);
          // An ON term filters only the side(s) a join does not preserve: both of an inner join,
          // the right of a LEFT JOIN, the left of a RIGHT JOIN, neither of a FULL JOIN.
          const kind = node.operator === ',' ? 'INNER' : keywordName(node.operator);
          const left = scope.items.slice(start, middle);
          const right = scope.items.slice(middle);
          const filtered = kind.includes('FULL') ? [] : kind.includes('LEFT') ? right : kind.includes('RIGHT') ? left : [...left, ...right];
          joins.push({ conjuncts: splitAnd(spec.expr as Node), items: new Set(filtered) });
        } else if (spec?.type === 'join_using_specification') {
          const list = ((spec.expr as Node).expr as Node).items as Node[];
          for (const n of list ?? []) this.expr(n, scope, false);
        }
        return;
      }
      case 'alias':
        return this.fromItem(node.expr as Node, scope, joins, lower(String((node.alias as Node).name)));
      case 'identifier': {
        const name = String(node.name);
        const cte = this.cte(scope, lower(name));
        if (cte) {
          this.a.cteRefs.push(node);
          scope.items.push({ alias: alias ?? lower(name), source: { kind: 'derived', outputs: cte } });
          return;
        }
        if (isTableName(name)) {
          const use: TableUse = { table: name, node, from: null, to: null, unevaluated: false };
          this.a.tables.push(use);
          scope.items.push({ alias: alias ?? lower(name), source: { kind: 'table', table: name, use } });
          return;
        }
        this.a.unknownTables.push(name);
        return;
      }
      case 'paren_expr': {
        const inner = node.expr as Node;
        if (inner.type === 'select_stmt' || inner.type === 'compound_select_stmt') {
          scope.items.push({ alias, source: { kind: 'derived', outputs: this.query(inner, scope.parent, []) } });
        } else this.fromItem(inner, scope, joins, alias);
        return;
      }
      case 'unnest_expr': {
        // The unnested values are the array's values: `UNNEST([email]) AS e` makes `e` an email.
        const origins = this.expr(node.expr as Node, scope, true);
        scope.items.push({ alias, source: { kind: 'value', name: alias, origins } });
        return;
      }
      case 'unnest_with_offset_expr':
        this.a.disallowedSyntax.push('UNNEST … WITH OFFSET');
        this.fromItem(node.unnest as Node, scope, joins, alias);
        return;
      case 'func_call':
        this.a.functions.push(functionName(node));
        this.a.unknownTables.push(`${functionName(node)}()`);
        return;
      default:
        if (/system_time/i.test(node.type)) this.a.disallowedSyntax.push('FOR SYSTEM_TIME AS OF');
        this.a.unknownTables.push(print(node).trim().slice(0, 80));
    }
  }

  private cte(scope: Scope | null, name: string): Output[] | undefined {
    for (let s = scope; s; s = s.parent) {
      const found = s.ctes.get(name);
      if (found) return found;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- expressions

  /** Records what `node` reads; returns the contract columns whose values it passes on (only when `exposing`). */
  private expr(node: Node, scope: Scope, exposing: boolean): Origins {
    const origins = this.exprInner(node, scope, exposing);
    return exposing ? origins : new Set();
  }

  private exprInner(node: Node, scope: Scope, exposing: boolean): Origins {
    if (OPAQUE.has(node.type)) return new Set();
    switch (node.type) {
      case 'identifier':
        return this.column([lower(String(node.name))], scope);
      case 'member_expr': {
        const parts = memberParts(node);
        if (parts) return this.column(parts, scope);
        return this.generic(node, scope, exposing);
      }
      case 'parameter': {
        const name = String(node.text).replace(/^@/, '');
        if (!this.a.params.includes(name)) this.a.params.push(name);
        return new Set();
      }
      case 'variable':
        this.a.disallowedSyntax.push(String(node.text));
        return new Set();
      case 'select_stmt':
      case 'compound_select_stmt': {
        const outputs = this.query(node, scope, []);
        return exposing ? union(...outputs.map((o) => o.origins)) : new Set();
      }
      case 'prefix_op_expr':
        return this.expr(node.expr as Node, scope, keywordName(node.operator) === 'EXISTS' ? false : exposing);
      case 'binary_expr': {
        const op = keywordName(node.operator);
        const left = this.expr(node.left as Node, scope, exposing);
        const right = this.expr(node.right as Node, scope, op.endsWith('IN') ? false : exposing);
        this.bind(node.left as Node, node.right as Node, scope);
        this.bind(node.right as Node, node.left as Node, scope);
        return union(left, right);
      }
      case 'between_expr': {
        const origins = this.generic(node, scope, exposing);
        this.bind(node.left as Node, node.begin as Node, scope);
        this.bind(node.left as Node, node.end as Node, scope);
        return origins;
      }
      case 'func_call': {
        const name = functionName(node);
        if (!this.a.functions.includes(name)) this.a.functions.push(name);
        if (NONDETERMINISTIC.has(name)) this.a.nondeterministic = true;
        const skip = UNIT_ARG[name];
        const argExposing = exposing && !NON_EXPOSING.has(name);
        const out = new Set<ColumnRef>();
        callArgs(node).forEach((arg, i) => {
          if (i === skip) return;
          for (const o of this.expr(arg, scope, argExposing)) out.add(o);
        });
        const fargs = (node.args as Node | undefined)?.expr as Node | undefined;
        if (fargs) for (const k of ['orderBy', 'limit', 'having']) if (isNode(fargs[k])) this.expr(fargs[k] as Node, scope, false);
        const window = isNode(node.over) ? ((node.over as Node).window as Node) : null;
        if (window && window.type !== 'identifier') this.expr(window, scope, false);
        if (isNode(node.filter)) this.expr(node.filter as Node, scope, false);
        return out;
      }
      case 'alias':
        return this.expr(node.expr as Node, scope, exposing);
      default:
        return this.generic(node, scope, exposing);
    }
  }

  private generic(node: Node, scope: Scope, exposing: boolean): Origins {
    const out = new Set<ColumnRef>();
    for (const child of children(node)) for (const o of this.expr(child, scope, exposing)) out.add(o);
    return out;
  }

  /** Resolves `col`, `alias.col` (and `alias.col.field`) through the scope chain. */
  private column(parts: string[], scope: Scope): Origins {
    const [first, second] = parts;
    for (let s: Scope | null = scope; s; s = s.parent) {
      if (second !== undefined) {
        const item = s.items.find((i) => i.alias === first);
        // A field of an unnested value (`e.x`) carries everything the value was built from.
        if (item?.source.kind === 'value') return item.source.origins;
        if (item) return this.fromSource(item.source, second) ?? this.unknown(`${first}.${second}`);
      }
      const matches = s.items.map((i) => this.fromSource(i.source, first!)).filter((m): m is Origins => m !== null);
      if (matches.length) return union(...matches);
      const whole = s.items.find((i) => i.alias === first);
      if (whole) return union(...this.star({ ...s, items: [whole] }, first!).map((o) => o.origins));
      const output = s.outputs.find((o) => o.name === first);
      if (output) return output.origins;
    }
    return this.unknown(parts.join('.'));
  }

  private fromSource(source: Source, name: string): Origins | null {
    if (source.kind === 'table') {
      const spec = CONTRACT[source.table].columns.find((c) => lower(c.name) === name);
      return spec ? new Set([this.read(source.table, spec.name)]) : null;
    }
    if (source.kind === 'derived') {
      const out = source.outputs.find((o) => o.name === name);
      return out ? out.origins : null;
    }
    return source.name === name ? source.origins : null;
  }

  /** Whether `name` resolves in `source`, without recording a read. */
  private provides(source: Source, name: string): boolean {
    if (source.kind === 'table') return CONTRACT[source.table].columns.some((c) => lower(c.name) === name);
    if (source.kind === 'derived') return source.outputs.some((o) => o.name === name);
    return source.name === name;
  }

  private read(table: TableName, column: string): ColumnRef {
    let set = this.a.columns.get(table);
    if (!set) this.a.columns.set(table, (set = new Set()));
    set.add(column);
    return `${table}.${column}`;
  }

  private unknown(name: string): Origins {
    if (!this.a.unknownColumns.includes(name)) this.a.unknownColumns.push(name);
    return new Set();
  }

  /** `col = @p`, `col IN UNNEST(@p)`, `col IN (SELECT * FROM UNNEST(@p))`: @p holds values of col. */
  private bind(colNode: Node, other: Node, scope: Scope): void {
    const parts = memberParts(colNode);
    if (!parts) return;
    const param = findParam(other);
    if (!param) return;
    const col = this.column(parts, scope);
    if (col.size === 1) this.a.paramBindings[param] ??= [...col][0]!;
  }

  // ---------------------------------------------------------------- partitions

  /**
   * Bounds on each partitioned table reference of this SELECT, from the terms that hold for every
   * row of it the SELECT reads: the top-level AND-ed terms of WHERE, and of the ON of a join that
   * filters its side (never the preserved side of an outer join: a LEFT JOIN keeps every row of
   * its left whatever ON says). All of these hold at once, so the tightest lower (and upper) bound
   * among them bounds the read. Terms under OR or NOT, in HAVING, QUALIFY, a subquery or an outer
   * query bound nothing. The compared side must be the partition column of exactly this table
   * reference, bare or under a truncation whose effect on the window is known (partitionForm).
   */
  private partitionBounds(scope: Scope, where: Node[], joins: JoinBound[]): void {
    for (const item of scope.items) {
      const conjuncts = [...where, ...joins.filter((j) => j.items.has(item)).flatMap((j) => j.conjuncts)];
      if (item.source.kind !== 'table') continue;
      const use = item.source.use;
      const column = CONTRACT[use.table].partitionColumn;
      if (!column) continue;
      const ambiguous = scope.items.some((i) => i !== item && this.provides(i.source, column));
      const isColumn = (n: Node): boolean => {
        const parts = memberParts(n);
        if (parts?.length === 1) return parts[0] === column && !ambiguous;
        return parts?.length === 2 && parts[0] === item.alias && parts[1] === column;
      };
      const lowerBound = (ms: number | null) => {
        if (ms === null) use.unevaluated = true;
        else use.from = use.from === null ? ms : Math.max(use.from, ms);
      };
      const upperBound = (ms: number | null, form: PartitionForm) => {
        if (ms === null) use.unevaluated = true;
        else {
          // trunc(col) < v or <= v or = v lets col run to the end of v's unit.
          const end = form.unit === null ? ms : addInterval(ms, 1, form.unit);
          if (end === null) use.unevaluated = true;
          else use.to = use.to === null ? end : Math.min(use.to, end);
        }
      };
      for (const c of conjuncts) {
        if (c.type === 'between_expr') {
          const form = partitionForm(c.left as Node, isColumn);
          if (!form || keywordName(c.betweenKw) !== 'BETWEEN') continue;
          lowerBound(this.time(c.begin as Node));
          upperBound(this.time(c.end as Node), form);
          continue;
        }
        if (c.type !== 'binary_expr') continue;
        const op = typeof c.operator === 'string' ? c.operator : '';
        if (!['>=', '>', '<', '<=', '='].includes(op)) continue;
        const leftForm = partitionForm(c.left as Node, isColumn);
        const rightForm = leftForm ? null : partitionForm(c.right as Node, isColumn);
        const form = leftForm ?? rightForm;
        if (!form) continue;
        const t = this.time((leftForm ? c.right : c.left) as Node);
        const dir = op === '=' ? '=' : op.startsWith('>') !== (rightForm !== null) ? 'lower' : 'upper';
        if (dir === 'lower' || dir === '=') lowerBound(t);
        if (dir === 'upper' || dir === '=') upperBound(t, form);
      }
    }
  }

  /** The instant an expression denotes, when it can be known before running (epoch ms). */
  time(node: Node): number | null {
    switch (node.type) {
      case 'paren_expr':
        return this.time(node.expr as Node);
      case 'parameter': {
        const v = this.ctx.params[String(node.text).replace(/^@/, '')];
        if (v instanceof Date) return v.getTime();
        return typeof v === 'string' ? parseTime(v) : null;
      }
      case 'timestamp_literal':
      case 'date_literal':
      case 'datetime_literal':
        return parseTime(String((node.string as Node).value));
      case 'string_literal':
        return parseTime(String(node.value));
      case 'cast_expr': {
        const arg = (node.args as Node).expr as Node;
        const t = this.time(arg.expr as Node);
        return t !== null && keywordName(((arg.dataType as Node) ?? {}).name) === 'DATE' ? startOfDay(t) : t;
      }
      case 'func_call': {
        const name = functionName(node);
        const args = callArgs(node);
        if (name === 'CURRENT_TIMESTAMP' || name === 'CURRENT_DATETIME') return this.ctx.now.getTime();
        if (name === 'CURRENT_DATE') return startOfDay(this.ctx.now.getTime());
        if ((name === 'TIMESTAMP' || name === 'DATETIME') && args.length === 1) return this.time(args[0]!);
        if (name === 'DATE' && args.length === 1) {
          const t = this.time(args[0]!);
          return t === null ? null : startOfDay(t);
        }
        if (/^(TIMESTAMP|DATE|DATETIME)_(SUB|ADD)$/.test(name) && args.length === 2) {
          const base = this.time(args[0]!);
          const interval = args[1]!;
          if (base === null || interval.type !== 'interval_literal') return null;
          const n = numberOf(interval.value as Node);
          const unit = keywordName(((interval.unit as Node) ?? {}).unitKw);
          if (n === null) return null;
          return addInterval(base, name.endsWith('_SUB') ? -n : n, unit);
        }
        return null;
      }
      default:
        return null;
    }
  }
}

/**
 * How an expression relates to the partition column: the column itself (`unit` null, also through
 * TIMESTAMP(col) and CAST(col AS TIMESTAMP)), or its truncation to a calendar unit (DATE(col),
 * CAST(col AS DATE), TIMESTAMP_TRUNC/DATE_TRUNC(col, unit), nested). A truncation never exceeds
 * the column and falls short of it by less than one unit, which is what the bounds use. Anything
 * else (casts to other types, other functions, time zones, week units) is null: no bound.
 */
export interface PartitionForm {
  unit: string | null;
}
const UNIT_ORDER = ['MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'MONTH', 'QUARTER', 'YEAR'];
const coarser = (a: string | null, b: string): string => (a === null || UNIT_ORDER.indexOf(b) > UNIT_ORDER.indexOf(a) ? b : a);

export function partitionForm(n: Node, isColumn: (n: Node) => boolean): PartitionForm | null {
  if (n.type === 'paren_expr') return partitionForm(n.expr as Node, isColumn);
  if (n.type === 'identifier' || n.type === 'member_expr') return isColumn(n) ? { unit: null } : null;
  if (n.type === 'cast_expr') {
    if (keywordName(n.castKw) !== 'CAST') return null;
    const arg = (n.args as Node).expr as Node;
    if (arg.format || (arg.dataType as Node).type !== 'data_type_name') return null;
    const type = keywordName((arg.dataType as Node).name);
    const inner = partitionForm(arg.expr as Node, isColumn);
    if (!inner) return null;
    if (type === 'TIMESTAMP') return inner;
    if (type === 'DATE') return { unit: coarser(inner.unit, 'DAY') };
    return null;
  }
  if (n.type !== 'func_call' || n.over || n.filter) return null;
  const name = functionName(n);
  const args = callArgs(n);
  if (name === 'TIMESTAMP' && args.length === 1) return partitionForm(args[0]!, isColumn);
  if (name === 'DATE' && args.length === 1) {
    const inner = partitionForm(args[0]!, isColumn);
    return inner && { unit: coarser(inner.unit, 'DAY') };
  }
  if ((name === 'TIMESTAMP_TRUNC' || name === 'DATE_TRUNC') && args.length === 2) {
    const unitNode = args[1]!;
    const unit = unitNode.type === 'identifier' && !String(unitNode.text).startsWith('`') ? String(unitNode.name).toUpperCase() : '';
    if (!UNIT_ORDER.includes(unit)) return null;
    const inner = partitionForm(args[0]!, isColumn);
    return inner && { unit: coarser(inner.unit, unit) };
  }
  return null;
}

function findParam(n: Node): string | null {
  if (n.type === 'parameter') return String(n.text).replace(/^@/, '');
  if (n.type === 'unnest_expr' || n.type === 'paren_expr') return isNode(n.expr) ? findParam(n.expr as Node) : null;
  if (n.type === 'select_stmt') {
    const from = (n.clauses as Node[]).find((c) => c.type === 'from_clause');
    const select = (n.clauses as Node[]).find((c) => c.type === 'select_clause');
    const items = ((select?.columns as Node | undefined)?.items as Node[] | undefined) ?? [];
    if (from && items.length === 1 && items[0]!.type === 'all_columns') return findParam(from.expr as Node);
  }
  return null;
}

function numberOf(node: Node | undefined): number | null {
  if (!node) return null;
  if (node.type === 'number_literal') return Number(node.value);
  if (node.type === 'string_literal' && /^-?\d+$/.test(String(node.value))) return Number(node.value);
  if (node.type === 'prefix_op_expr' && node.operator === '-') {
    const v = numberOf(node.expr as Node);
    return v === null ? null : -v;
  }
  return null;
}

const UNIT_MS: Record<string, number> = { MICROSECOND: 0.001, MILLISECOND: 1, SECOND: 1000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000, WEEK: 7 * 86_400_000 };

export function addInterval(ms: number, n: number, unit: string): number | null {
  if (UNIT_MS[unit] !== undefined) return ms + n * UNIT_MS[unit]!;
  const months = unit === 'MONTH' ? n : unit === 'QUARTER' ? 3 * n : unit === 'YEAR' ? 12 * n : null;
  if (months === null) return null;
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.getTime();
}

function startOfDay(ms: number): number {
  return Math.floor(ms / 86_400_000) * 86_400_000;
}

/** BigQuery timestamp/date text (`2026-01-01`, `2026-01-01 10:00:00`, ISO-8601 with offset); UTC unless stated. */
export function parseTime(text: string): number | null {
  const t = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return null;
  let iso = t.replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00Z';
  else if (!/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(iso)) iso += 'Z';
  const ms = Date.parse(iso.replace(/([+-]\d{2})$/, '$1:00'));
  return Number.isNaN(ms) ? null : ms;
}

function memberParts(node: Node): string[] | null {
  if (node.type === 'identifier') return [lower(String(node.name))];
  if (node.type === 'member_expr' && isNode(node.property) && (node.property as Node).type === 'identifier') {
    const head = memberParts(node.object as Node);
    return head ? [...head, lower(String((node.property as Node).name))] : null;
  }
  return null;
}

/** The AND-ed terms of a condition, parentheses removed (`(a)` is `a`). */
function splitAnd(node: Node): Node[] {
  if (node.type === 'paren_expr' && isNode(node.expr)) return splitAnd(node.expr as Node);
  if (node.type === 'binary_expr' && keywordName(node.operator) === 'AND') return [...splitAnd(node.left as Node), ...splitAnd(node.right as Node)];
  return [node];
}

function union(...sets: Origins[]): Origins {
  const out = new Set<ColumnRef>();
  for (const s of sets) for (const v of s) out.add(v);
  return out;
}
