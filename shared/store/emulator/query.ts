import { DOCUMENT_NAME_PATH, getAtPath, projectFields, type FieldPath } from './field-path.js';
import {
  compareReferences,
  compareStrings,
  compareValues,
  isNaNValue,
  isNumber,
  sameTypeClass,
  valuesEqual,
  type FsValue,
  type StoredDoc,
} from './values.js';

/**
 * Firestore query evaluation over plain documents. Pure. Replaces the package's engine, which
 * silently ignores cursors, offset and null/NaN filters, lists documents that lack an orderBy
 * field, has no `__name__` tie-break and rejects dotted field paths.
 */
export type FieldOp = 'LT' | 'LTE' | 'GT' | 'GTE' | 'EQ' | 'NEQ' | 'ARRAY_CONTAINS' | 'IN' | 'ARRAY_CONTAINS_ANY' | 'NOT_IN';
export type UnaryOp = 'IS_NAN' | 'IS_NULL' | 'IS_NOT_NAN' | 'IS_NOT_NULL';

export type Filter =
  | { kind: 'field'; path: FieldPath; op: FieldOp; value: FsValue }
  | { kind: 'unary'; path: FieldPath; op: UnaryOp }
  | { kind: 'composite'; op: 'AND' | 'OR'; filters: readonly Filter[] };

export interface Order {
  path: FieldPath;
  descending: boolean;
}

export interface Cursor {
  values: readonly FsValue[];
  before: boolean;
}

export interface QuerySpec {
  /** `projects/{p}/databases/{d}/documents` or a document name. */
  parent: string;
  collectionId: string;
  allDescendants: boolean;
  where?: Filter;
  orderBy: readonly Order[];
  startAt?: Cursor;
  endAt?: Cursor;
  offset: number;
  limit?: number;
  select?: readonly FieldPath[];
}

const isNamePath = (p: FieldPath): boolean => p.length === 1 && p[0] === DOCUMENT_NAME_PATH;
const pathKey = (p: FieldPath): string => p.join('\u0000');

function fieldOf(doc: StoredDoc, path: FieldPath): FsValue | undefined {
  return isNamePath(path) ? { kind: 'reference', value: doc.name } : getAtPath(doc.fields, path);
}

function matchesField(v: FsValue | undefined, op: FieldOp, operand: FsValue): boolean {
  if (v === undefined) return false;
  const list = operand.kind === 'array' ? operand.value : [];
  switch (op) {
    case 'EQ': return sameTypeClass(v, operand) && valuesEqual(v, operand);
    case 'NEQ': return v.kind !== 'null' && !valuesEqual(v, operand);
    case 'LT':
    case 'LTE':
    case 'GT':
    case 'GTE': {
      // Range filters only match values of the operand's type; NaN is never in a range.
      if (!sameTypeClass(v, operand) || isNaNValue(v) || isNaNValue(operand)) return false;
      const c = compareValues(v, operand);
      return op === 'LT' ? c < 0 : op === 'LTE' ? c <= 0 : op === 'GT' ? c > 0 : c >= 0;
    }
    case 'ARRAY_CONTAINS': return v.kind === 'array' && v.value.some((x) => valuesEqual(x, operand));
    case 'IN': return list.some((x) => sameTypeClass(v, x) && valuesEqual(v, x));
    case 'ARRAY_CONTAINS_ANY': return v.kind === 'array' && v.value.some((x) => list.some((y) => valuesEqual(x, y)));
    case 'NOT_IN': return v.kind !== 'null' && !list.some((x) => valuesEqual(v, x));
  }
}

function matchesUnary(v: FsValue | undefined, op: UnaryOp): boolean {
  if (v === undefined) return false;
  switch (op) {
    case 'IS_NULL': return v.kind === 'null';
    case 'IS_NAN': return isNaNValue(v);
    case 'IS_NOT_NULL': return v.kind !== 'null';
    case 'IS_NOT_NAN': return v.kind !== 'null' && !isNaNValue(v);
  }
}

export function matches(doc: StoredDoc, filter: Filter): boolean {
  switch (filter.kind) {
    case 'field': return matchesField(fieldOf(doc, filter.path), filter.op, filter.value);
    case 'unary': return matchesUnary(fieldOf(doc, filter.path), filter.op);
    case 'composite':
      return filter.op === 'AND' ? filter.filters.every((f) => matches(doc, f)) : filter.filters.some((f) => matches(doc, f));
  }
}

const INEQUALITY: ReadonlySet<FieldOp> = new Set(['LT', 'LTE', 'GT', 'GTE', 'NEQ', 'NOT_IN']);

function inequalityPaths(filter: Filter | undefined, out: FieldPath[] = []): FieldPath[] {
  if (!filter) return out;
  if (filter.kind === 'field' && INEQUALITY.has(filter.op)) out.push(filter.path);
  if (filter.kind === 'unary' && (filter.op === 'IS_NOT_NULL' || filter.op === 'IS_NOT_NAN')) out.push(filter.path);
  if (filter.kind === 'composite') for (const f of filter.filters) inequalityPaths(f, out);
  return out;
}

/**
 * The order Firestore actually applies: explicit orders, then inequality fields not yet ordered
 * (by path), then `__name__` in the direction of the last order.
 */
export function effectiveOrder(spec: Pick<QuerySpec, 'orderBy' | 'where'>): Order[] {
  const order = [...spec.orderBy];
  const seen = new Set(order.map((o) => pathKey(o.path)));
  const lastDescending = order.length > 0 && order[order.length - 1]!.descending;
  const implicit = inequalityPaths(spec.where)
    .filter((p) => !seen.has(pathKey(p)))
    .sort((a, b) => compareStrings(a.join('.'), b.join('.')));
  for (const p of implicit) {
    if (seen.has(pathKey(p))) continue;
    seen.add(pathKey(p));
    order.push({ path: p, descending: lastDescending });
  }
  if (!seen.has(pathKey([DOCUMENT_NAME_PATH]))) order.push({ path: [DOCUMENT_NAME_PATH], descending: lastDescending });
  return order;
}

function compareOn(a: FsValue, b: FsValue, path: FieldPath): number {
  return isNamePath(path) && a.kind === 'reference' && b.kind === 'reference' ? compareReferences(a.value, b.value) : compareValues(a, b);
}

/** Position of a document relative to a cursor (prefix of the order): <0 before, 0 at, >0 after. */
function compareToCursor(doc: StoredDoc, order: readonly Order[], cursor: Cursor): number {
  for (let i = 0; i < cursor.values.length && i < order.length; i++) {
    const o = order[i]!;
    const c = compareOn(fieldOf(doc, o.path)!, cursor.values[i]!, o.path);
    if (c !== 0) return o.descending ? -c : c;
  }
  return 0;
}

/** Filters, orders, applies cursors, offset, limit and projection to a collection's documents. */
export function runQuery(candidates: Iterable<StoredDoc>, spec: QuerySpec): StoredDoc[] {
  const order = effectiveOrder(spec);
  const rows: { doc: StoredDoc; keys: FsValue[] }[] = [];
  for (const doc of candidates) {
    if (spec.where && !matches(doc, spec.where)) continue;
    const keys = order.map((o) => fieldOf(doc, o.path));
    // A document without a value for an ordered field is not in that index: Firestore skips it.
    if (keys.some((k) => k === undefined)) continue;
    rows.push({ doc, keys: keys as FsValue[] });
  }
  rows.sort((x, y) => {
    for (let i = 0; i < order.length; i++) {
      const c = compareOn(x.keys[i]!, y.keys[i]!, order[i]!.path);
      if (c !== 0) return order[i]!.descending ? -c : c;
    }
    return 0;
  });
  let docs = rows.map((r) => r.doc);
  const { startAt, endAt } = spec;
  if (startAt) docs = docs.filter((d) => (startAt.before ? compareToCursor(d, order, startAt) >= 0 : compareToCursor(d, order, startAt) > 0));
  if (endAt) docs = docs.filter((d) => (endAt.before ? compareToCursor(d, order, endAt) < 0 : compareToCursor(d, order, endAt) <= 0));
  docs = docs.slice(spec.offset, spec.limit === undefined ? undefined : spec.offset + spec.limit);
  if (spec.select) {
    const paths = spec.select.filter((p) => !isNamePath(p));
    docs = docs.map((d) => ({ ...d, fields: projectFields(d.fields, paths) }));
  }
  return docs;
}

export type Aggregation =
  | { alias: string; op: 'count'; upTo?: number }
  | { alias: string; op: 'sum' | 'avg'; path: FieldPath };

/** count / sum / avg over a query's result, with Firestore's result types. */
export function aggregate(docs: readonly StoredDoc[], aggregations: readonly Aggregation[]): Map<string, FsValue> {
  const out = new Map<string, FsValue>();
  for (const a of aggregations) {
    if (a.op === 'count') {
      out.set(a.alias, { kind: 'integer', value: a.upTo === undefined ? docs.length : Math.min(docs.length, a.upTo) });
      continue;
    }
    const numbers = docs.map((d) => getAtPath(d.fields, a.path)).filter((v): v is Extract<FsValue, { kind: 'integer' | 'double' }> => v !== undefined && isNumber(v));
    const total = numbers.reduce((s, v) => s + v.value, 0);
    if (a.op === 'sum') {
      const allIntegers = numbers.every((v) => v.kind === 'integer') && Number.isSafeInteger(total);
      out.set(a.alias, allIntegers ? { kind: 'integer', value: total } : { kind: 'double', value: total });
    } else {
      out.set(a.alias, numbers.length === 0 ? { kind: 'null' } : { kind: 'double', value: total / numbers.length });
    }
  }
  return out;
}
