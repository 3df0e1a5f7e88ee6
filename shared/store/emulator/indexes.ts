import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DOCUMENT_NAME_PATH, type FieldPath } from './field-path.js';
import { effectiveOrder, type Filter, type QuerySpec } from './query.js';
import { RpcError, Status } from './rpc-error.js';

/**
 * Composite-index enforcement, as real Firestore does it: a query that single-field indexes cannot
 * serve fails with FAILED_PRECONDITION "The query requires an index" unless the index file lists
 * one. The file is the one Terraform creates the indexes from (terraform/firestore.indexes.json,
 * Firebase CLI format), so every query the tests run is checked against what production has.
 *
 * Rules (Firestore's, simplified where the platform does not go): equality filters alone are
 * served by merging single-field indexes; one ordered field (orderBy or inequality) without
 * equalities needs only its single-field index; anything else needs composite indexes whose
 * trailing fields are exactly the query's order (paths and directions) and whose leading fields
 * together cover the equality fields (Firestore merges such indexes). Collection-group queries
 * need COLLECTION_GROUP-scoped indexes even for single fields (a field override).
 */
const Order = z.enum(['ASCENDING', 'DESCENDING']);
const IndexFieldSchema = z.object({ fieldPath: z.string().min(1), order: Order.optional(), arrayConfig: z.literal('CONTAINS').optional() });
const Scope = z.enum(['COLLECTION', 'COLLECTION_GROUP']);
export const IndexFileSchema = z.object({
  indexes: z.array(z.object({ collectionGroup: z.string().min(1), queryScope: Scope.default('COLLECTION'), fields: z.array(IndexFieldSchema).min(1) })),
  fieldOverrides: z
    .array(
      z.object({
        collectionGroup: z.string().min(1),
        fieldPath: z.string().min(1),
        ttl: z.boolean().optional(),
        indexes: z.array(z.object({ order: Order.optional(), arrayConfig: z.literal('CONTAINS').optional(), queryScope: Scope.default('COLLECTION') })).default([]),
      }),
    )
    .default([]),
});
export type IndexFile = z.output<typeof IndexFileSchema>;

/** The project's index file, the one Terraform applies. */
export const PROJECT_INDEX_FILE = fileURLToPath(new URL('../../../terraform/firestore.indexes.json', import.meta.url));

export function loadIndexFile(path: string = PROJECT_INDEX_FILE): IndexFile {
  return IndexFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

interface Need {
  equality: string[];
  arrays: string[];
  orders: { path: string; descending: boolean }[];
}

const key = (p: FieldPath): string => p.join('.');
const EQUALITY = new Set(['EQ', 'IN']);
const ARRAY = new Set(['ARRAY_CONTAINS', 'ARRAY_CONTAINS_ANY']);

/** Disjunctive normal form of a filter: each branch is a list of simple filters ANDed. */
function branches(filter: Filter | undefined): Filter[][] {
  if (!filter) return [[]];
  if (filter.kind !== 'composite') return [[filter]];
  if (filter.op === 'OR') return filter.filters.flatMap((f) => branches(f));
  let out: Filter[][] = [[]];
  for (const f of filter.filters) {
    const next: Filter[][] = [];
    for (const left of out) for (const right of branches(f)) next.push([...left, ...right]);
    out = next;
  }
  return out;
}

function needOf(spec: QuerySpec, conjunction: Filter[]): Need {
  const equality = new Set<string>();
  const arrays = new Set<string>();
  for (const f of conjunction) {
    if (f.kind === 'field' && EQUALITY.has(f.op)) equality.add(key(f.path));
    else if (f.kind === 'field' && ARRAY.has(f.op)) arrays.add(key(f.path));
    else if (f.kind === 'unary' && (f.op === 'IS_NULL' || f.op === 'IS_NAN')) equality.add(key(f.path));
  }
  const where: Filter | undefined = conjunction.length ? { kind: 'composite', op: 'AND', filters: conjunction } : undefined;
  const orders = effectiveOrder({ orderBy: spec.orderBy, ...(where ? { where } : {}) })
    .filter((o) => !(o.path.length === 1 && o.path[0] === DOCUMENT_NAME_PATH))
    .filter((o) => !equality.has(key(o.path)))
    .map((o) => ({ path: key(o.path), descending: o.descending }));
  equality.delete(DOCUMENT_NAME_PATH);
  return { equality: [...equality], arrays: [...arrays], orders };
}

function singleFieldServes(need: Need): boolean {
  const filtered = need.equality.length + need.arrays.length;
  if (filtered === 0) return need.orders.length <= 1;
  return need.orders.length === 0 && need.arrays.length <= 1;
}

function compositeServes(need: Need, file: IndexFile, collection: string, scope: 'COLLECTION' | 'COLLECTION_GROUP'): boolean {
  const covered = new Set<string>();
  const wanted = new Set([...need.equality, ...need.arrays]);
  for (const index of file.indexes) {
    if (index.collectionGroup !== collection || index.queryScope !== scope) continue;
    const fields = index.fields.filter((f) => f.fieldPath !== DOCUMENT_NAME_PATH);
    const prefixLength = fields.length - need.orders.length;
    if (prefixLength < 0) continue;
    const suffix = fields.slice(prefixLength);
    const orderMatches = suffix.every((f, i) => f.fieldPath === need.orders[i]!.path && f.order === (need.orders[i]!.descending ? 'DESCENDING' : 'ASCENDING'));
    if (!orderMatches) continue;
    const prefix = fields.slice(0, prefixLength);
    const usable = prefix.every((f) => (f.arrayConfig ? need.arrays.includes(f.fieldPath) : need.equality.includes(f.fieldPath)));
    if (!usable) continue;
    if (wanted.size === 0 && prefix.length === 0) return true;
    for (const f of prefix) covered.add(f.fieldPath);
  }
  return wanted.size > 0 && [...wanted].every((f) => covered.has(f));
}

function collectionGroupSingleFieldServes(need: Need, file: IndexFile, collection: string): boolean {
  const has = (path: string, kind: 'order' | 'array') =>
    file.fieldOverrides.some(
      (o) => o.collectionGroup === collection && o.fieldPath === path && o.indexes.some((i) => i.queryScope === 'COLLECTION_GROUP' && (kind === 'array' ? i.arrayConfig === 'CONTAINS' : i.order !== undefined)),
    );
  return need.equality.every((p) => has(p, 'order')) && need.arrays.every((p) => has(p, 'array')) && need.orders.every((o) => has(o.path, 'order'));
}

function suggestion(need: Need, collection: string, scope: string): string {
  const fields = [
    ...need.equality.map((fieldPath) => ({ fieldPath, order: 'ASCENDING' })),
    ...need.arrays.map((fieldPath) => ({ fieldPath, arrayConfig: 'CONTAINS' })),
    ...need.orders.map((o) => ({ fieldPath: o.path, order: o.descending ? 'DESCENDING' : 'ASCENDING' })),
  ];
  return JSON.stringify({ collectionGroup: collection, queryScope: scope, fields });
}

/** Throws FAILED_PRECONDITION (as Firestore does) when no listed index serves the query. */
export function checkQueryIndexes(spec: QuerySpec, file: IndexFile): void {
  const scope = spec.allDescendants ? 'COLLECTION_GROUP' : 'COLLECTION';
  for (const conjunction of branches(spec.where)) {
    const need = needOf(spec, conjunction);
    const used = need.equality.length + need.arrays.length + need.orders.length;
    if (scope === 'COLLECTION' && singleFieldServes(need)) continue;
    if (scope === 'COLLECTION_GROUP' && (used === 0 || (singleFieldServes(need) && collectionGroupSingleFieldServes(need, file, spec.collectionId)))) continue;
    if (compositeServes(need, file, spec.collectionId, scope)) continue;
    throw new RpcError(
      Status.FAILED_PRECONDITION,
      `The query requires an index. Add it to terraform/firestore.indexes.json (Terraform creates it): ${suggestion(need, spec.collectionId, scope)}`,
    );
  }
}
