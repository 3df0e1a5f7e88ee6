/**
 * Translation between the Firestore v1 protobuf messages (generated classes shipped by
 * `@firestore-emulator/proto`, the protocol layer of `@firestore-emulator/server`) and the plain
 * types the shim computes on. Oneofs are read through `value_type`/`has_*`, never `toObject()`.
 */
import { Document, Value, ArrayValue, MapValue } from '@firestore-emulator/proto/dist/google/firestore/v1/document.js';
import type { Precondition, DocumentMask } from '@firestore-emulator/proto/dist/google/firestore/v1/common.js';
import type { StructuredQuery, StructuredQueryFilter, StructuredAggregationQuery } from '@firestore-emulator/proto/dist/google/firestore/v1/query.js';
import {
  StructuredQueryCompositeFilterOperator as CompositeOp,
  StructuredQueryDirection as Direction,
  StructuredQueryFieldFilterOperator as FieldFilterOp,
  StructuredQueryUnaryFilterOperator as UnaryFilterOp,
} from '@firestore-emulator/proto/dist/google/firestore/v1/query.js';
import { DocumentTransformFieldTransformServerValue as ServerValue } from '@firestore-emulator/proto/dist/google/firestore/v1/write.js';
import type { DocumentTransformFieldTransform, Write } from '@firestore-emulator/proto/dist/google/firestore/v1/write.js';
import { Timestamp } from '@firestore-emulator/proto/dist/google/protobuf/timestamp.js';
import { NullValue } from '@firestore-emulator/proto/dist/google/protobuf/struct.js';
import { LatLng } from '@firestore-emulator/proto/dist/google/type/latlng.js';
import { parseFieldPath, projectFields, type FieldPath } from './field-path.js';
import type { Aggregation, FieldOp, Filter, QuerySpec, UnaryOp } from './query.js';
import { RpcError, Status, unsupported } from './rpc-error.js';
import type { FsFields, FsValue, StoredDoc, Ts } from './values.js';
import type { Precondition as PreconditionSpec, Transform, WriteOp } from './writes.js';

const invalid = (msg: string): RpcError => new RpcError(Status.INVALID_ARGUMENT, msg);

// --- values -------------------------------------------------------------------------------

export const tsFromProto = (t: Timestamp): Ts => ({ seconds: t.seconds, nanos: t.nanos });
export const tsToProto = (t: Ts): Timestamp => new Timestamp({ seconds: t.seconds, nanos: t.nanos });

export function valueFromProto(v: Value): FsValue {
  switch (v.value_type) {
    case 'null_value': return { kind: 'null' };
    case 'boolean_value': return { kind: 'boolean', value: v.boolean_value };
    case 'integer_value': return { kind: 'integer', value: Number(v.integer_value) };
    case 'double_value': return { kind: 'double', value: v.double_value };
    case 'timestamp_value': return { kind: 'timestamp', value: tsFromProto(v.timestamp_value) };
    case 'string_value': return { kind: 'string', value: v.string_value };
    case 'bytes_value': return { kind: 'bytes', value: v.bytes_value };
    case 'reference_value': return { kind: 'reference', value: v.reference_value };
    case 'geo_point_value': return { kind: 'geo', value: { latitude: v.geo_point_value.latitude, longitude: v.geo_point_value.longitude } };
    case 'array_value': return { kind: 'array', value: v.array_value.values.map(valueFromProto) };
    case 'map_value': return { kind: 'map', value: fieldsFromProto(v.map_value.fields) };
    case 'none': throw invalid('A value has no type set.');
  }
}

export function fieldsFromProto(fields: Map<string, Value>): FsFields {
  const out = new Map<string, FsValue>();
  for (const [k, v] of fields) out.set(k, valueFromProto(v));
  return out;
}

export function valueToProto(v: FsValue): Value {
  switch (v.kind) {
    case 'null': return new Value({ null_value: NullValue.NULL_VALUE });
    case 'boolean': return new Value({ boolean_value: v.value });
    case 'integer': return new Value({ integer_value: v.value });
    case 'double': return new Value({ double_value: v.value });
    case 'timestamp': return new Value({ timestamp_value: tsToProto(v.value) });
    case 'string': return new Value({ string_value: v.value });
    case 'bytes': return new Value({ bytes_value: v.value });
    case 'reference': return new Value({ reference_value: v.value });
    case 'geo': return new Value({ geo_point_value: new LatLng(v.value) });
    case 'array': return new Value({ array_value: new ArrayValue({ values: v.value.map(valueToProto) }) });
    case 'map': return new Value({ map_value: new MapValue({ fields: fieldsToProto(v.value) }) });
  }
}

export function fieldsToProto(fields: FsFields): Map<string, Value> {
  const out = new Map<string, Value>();
  for (const [k, v] of fields) out.set(k, valueToProto(v));
  return out;
}

// --- documents ------------------------------------------------------------------------------

const DOC_NAME = /^projects\/[^/]+\/databases\/[^/]+\/documents(\/[^/]+\/[^/]+)+$/;
const PARENT_NAME = /^projects\/[^/]+\/databases\/[^/]+\/documents(\/[^/]+\/[^/]+)*$/;

export function checkDocumentName(name: string): string {
  if (!DOC_NAME.test(name)) throw invalid(`Invalid document name "${name}".`);
  return name;
}

export function docToProto(doc: StoredDoc, mask?: readonly FieldPath[]): Document {
  return new Document({
    name: doc.name,
    fields: fieldsToProto(mask ? projectFields(doc.fields, mask) : doc.fields),
    create_time: tsToProto(doc.createTime),
    update_time: tsToProto(doc.updateTime),
  });
}

export const maskFromProto = (m: DocumentMask): FieldPath[] => m.field_paths.map(parseFieldPath);

// --- writes ---------------------------------------------------------------------------------

function preconditionFromProto(w: Write): PreconditionSpec | undefined {
  if (!w.has_current_document) return undefined;
  const p: Precondition = w.current_document;
  switch (p.condition_type) {
    case 'exists': return { exists: p.exists };
    case 'update_time': return { updateTime: tsFromProto(p.update_time) };
    case 'none': return undefined;
  }
}

function transformFromProto(t: DocumentTransformFieldTransform): Transform {
  const path = parseFieldPath(t.field_path);
  switch (t.transform_type) {
    case 'set_to_server_value':
      if (t.set_to_server_value !== ServerValue.REQUEST_TIME) throw invalid('Unknown server value.');
      return { path, op: 'serverTime' };
    case 'increment': return { path, op: 'increment', operand: valueFromProto(t.increment) };
    case 'maximum': return { path, op: 'maximum', operand: valueFromProto(t.maximum) };
    case 'minimum': return { path, op: 'minimum', operand: valueFromProto(t.minimum) };
    case 'append_missing_elements': return { path, op: 'arrayUnion', elements: t.append_missing_elements.values.map(valueFromProto) };
    case 'remove_all_from_array': return { path, op: 'arrayRemove', elements: t.remove_all_from_array.values.map(valueFromProto) };
    case 'none': throw invalid('A field transform has no type set.');
  }
}

export function writeFromProto(w: Write): WriteOp {
  const precondition = preconditionFromProto(w);
  switch (w.operation) {
    case 'delete':
      return { kind: 'delete', name: checkDocumentName(w.delete), precondition };
    case 'update':
      return {
        kind: 'update',
        name: checkDocumentName(w.update.name),
        fields: fieldsFromProto(w.update.fields),
        mask: w.has_update_mask ? maskFromProto(w.update_mask) : undefined,
        transforms: w.update_transforms.map(transformFromProto),
        precondition,
      };
    case 'transform':
      // Legacy transform-only write: an update that touches no field but runs the transforms.
      return {
        kind: 'update',
        name: checkDocumentName(w.transform.document),
        fields: new Map(),
        mask: [],
        transforms: w.transform.field_transforms.map(transformFromProto),
        precondition,
      };
    case 'none':
      throw invalid('A write has no operation set.');
  }
}

// --- queries --------------------------------------------------------------------------------

const FIELD_OPS: Partial<Record<FieldFilterOp, FieldOp>> = {
  [FieldFilterOp.LESS_THAN]: 'LT',
  [FieldFilterOp.LESS_THAN_OR_EQUAL]: 'LTE',
  [FieldFilterOp.GREATER_THAN]: 'GT',
  [FieldFilterOp.GREATER_THAN_OR_EQUAL]: 'GTE',
  [FieldFilterOp.EQUAL]: 'EQ',
  [FieldFilterOp.NOT_EQUAL]: 'NEQ',
  [FieldFilterOp.ARRAY_CONTAINS]: 'ARRAY_CONTAINS',
  [FieldFilterOp.IN]: 'IN',
  [FieldFilterOp.ARRAY_CONTAINS_ANY]: 'ARRAY_CONTAINS_ANY',
  [FieldFilterOp.NOT_IN]: 'NOT_IN',
};
const UNARY_OPS: Partial<Record<UnaryFilterOp, UnaryOp>> = {
  [UnaryFilterOp.IS_NAN]: 'IS_NAN',
  [UnaryFilterOp.IS_NULL]: 'IS_NULL',
  [UnaryFilterOp.IS_NOT_NAN]: 'IS_NOT_NAN',
  [UnaryFilterOp.IS_NOT_NULL]: 'IS_NOT_NULL',
};

function filterFromProto(f: StructuredQueryFilter): Filter {
  switch (f.filter_type) {
    case 'field_filter': {
      const op = FIELD_OPS[f.field_filter.op];
      if (!op) throw invalid('Unknown field filter operator.');
      return { kind: 'field', path: parseFieldPath(f.field_filter.field.field_path), op, value: valueFromProto(f.field_filter.value) };
    }
    case 'unary_filter': {
      const op = UNARY_OPS[f.unary_filter.op];
      if (!op) throw invalid('Unknown unary filter operator.');
      return { kind: 'unary', path: parseFieldPath(f.unary_filter.field.field_path), op };
    }
    case 'composite_filter': {
      const { op, filters } = f.composite_filter;
      if (op !== CompositeOp.AND && op !== CompositeOp.OR) throw invalid('Unknown composite filter operator.');
      return { kind: 'composite', op: op === CompositeOp.AND ? 'AND' : 'OR', filters: filters.map(filterFromProto) };
    }
    case 'none':
      throw invalid('A filter has no type set.');
  }
}

export function querySpecFromProto(parent: string, q: StructuredQuery): QuerySpec {
  if (!PARENT_NAME.test(parent)) throw invalid(`Invalid query parent "${parent}".`);
  if (q.has_find_nearest) throw unsupported('vector search (findNearest)');
  if (q.from.length !== 1) throw invalid('A query must select exactly one collection.');
  const from = q.from[0]!;
  if (!from.collection_id) throw unsupported('queries without a collection id');
  const cursor = (c: { values: Value[]; before: boolean }) => ({ values: c.values.map(valueFromProto), before: c.before });
  return {
    parent,
    collectionId: from.collection_id,
    allDescendants: from.all_descendants,
    where: q.has_where ? filterFromProto(q.where) : undefined,
    orderBy: q.order_by.map((o) => ({ path: parseFieldPath(o.field.field_path), descending: o.direction === Direction.DESCENDING })),
    startAt: q.has_start_at ? cursor(q.start_at) : undefined,
    endAt: q.has_end_at ? cursor(q.end_at) : undefined,
    offset: q.offset,
    limit: q.has_limit ? q.limit.value : undefined,
    select: q.has_select ? q.select.fields.map((f) => parseFieldPath(f.field_path)) : undefined,
  };
}

export function aggregationsFromProto(q: StructuredAggregationQuery): Aggregation[] {
  return q.aggregations.map((a): Aggregation => {
    switch (a.operator) {
      case 'count': return { alias: a.alias, op: 'count', upTo: a.count.has_up_to ? Number(a.count.up_to.value) : undefined };
      case 'sum': return { alias: a.alias, op: 'sum', path: parseFieldPath(a.sum.field.field_path) };
      case 'avg': return { alias: a.alias, op: 'avg', path: parseFieldPath(a.avg.field.field_path) };
      case 'none': throw invalid('An aggregation has no operator set.');
    }
  });
}
