import { deleteAtPath, getAtPath, setAtPath, type FieldPath } from './field-path.js';
import { RpcError, Status } from './rpc-error.js';
import {
  compareValues,
  isNumber,
  sameFields,
  tsCompare,
  valuesEqual,
  type FsFields,
  type FsValue,
  type StoredDoc,
  type Ts,
} from './values.js';

/**
 * Firestore's write semantics, evaluated on plain documents. Pure. This replaces the package's
 * own write path, which does not replace documents on `set()`, ignores `FieldValue.delete()`,
 * applies only the first of several array / server-time transforms, and ignores
 * `lastUpdateTime` preconditions.
 */
export type Precondition = { exists: boolean } | { updateTime: Ts };

export type Transform =
  | { path: FieldPath; op: 'serverTime' }
  | { path: FieldPath; op: 'increment' | 'maximum' | 'minimum'; operand: FsValue }
  | { path: FieldPath; op: 'arrayUnion' | 'arrayRemove'; elements: readonly FsValue[] };

export type WriteOp =
  | {
      kind: 'update';
      name: string;
      fields: FsFields;
      /** Absent: replace the whole document. Present: touch only these paths (absent in `fields` = delete). */
      mask?: readonly FieldPath[];
      transforms: readonly Transform[];
      precondition?: Precondition;
    }
  | { kind: 'delete'; name: string; precondition?: Precondition };

export interface WriteOutcome {
  /** The document after the write; undefined = it does not exist. */
  doc: StoredDoc | undefined;
  /** False for a write that left an existing document exactly as it was. */
  changed: boolean;
  /** Update time to report: the commit time, or the previous one for a no-op write. */
  updateTime: Ts;
  transformResults: FsValue[];
}

const formatTs = (t: Ts): string => `${t.seconds}.${String(t.nanos).padStart(9, '0')}`;

export function checkPrecondition(name: string, current: StoredDoc | undefined, pre: Precondition | undefined): void {
  if (!pre) return;
  if ('exists' in pre) {
    if (pre.exists && !current) throw new RpcError(Status.NOT_FOUND, `No document to update: ${name}`);
    if (!pre.exists && current) throw new RpcError(Status.ALREADY_EXISTS, `Document already exists: ${name}`);
    return;
  }
  if (!current) throw new RpcError(Status.NOT_FOUND, `No document to update: ${name}`);
  if (tsCompare(current.updateTime, pre.updateTime) !== 0) {
    throw new RpcError(
      Status.FAILED_PRECONDITION,
      `The stored version (${formatTs(current.updateTime)}) does not match the required base version (${formatTs(pre.updateTime)}) of ${name}.`,
    );
  }
}

export function applyWrite(current: StoredDoc | undefined, op: WriteOp, commitTime: Ts): WriteOutcome {
  checkPrecondition(op.name, current, op.precondition);
  if (op.kind === 'delete') {
    return { doc: undefined, changed: current !== undefined, updateTime: commitTime, transformResults: [] };
  }
  let fields: FsFields;
  if (op.mask === undefined) {
    fields = op.fields;
  } else {
    fields = current?.fields ?? new Map();
    for (const path of op.mask) {
      const value = getAtPath(op.fields, path);
      fields = value === undefined ? deleteAtPath(fields, path) : setAtPath(fields, path, value);
    }
  }
  const transformResults: FsValue[] = [];
  for (const t of op.transforms) {
    const result = applyTransform(getAtPath(fields, t.path), t, commitTime);
    fields = setAtPath(fields, t.path, result);
    transformResults.push(result);
  }
  if (current && sameFields(current.fields, fields)) {
    return { doc: current, changed: false, updateTime: current.updateTime, transformResults };
  }
  return {
    doc: { name: op.name, fields, createTime: current?.createTime ?? commitTime, updateTime: commitTime },
    changed: true,
    updateTime: commitTime,
    transformResults,
  };
}

function applyTransform(current: FsValue | undefined, t: Transform, commitTime: Ts): FsValue {
  switch (t.op) {
    case 'serverTime':
      return { kind: 'timestamp', value: commitTime };
    case 'increment': {
      if (!isNumber(t.operand)) throw new RpcError(Status.INVALID_ARGUMENT, 'increment needs a numeric operand.');
      if (!current || !isNumber(current)) return t.operand;
      const sum = current.value + t.operand.value;
      return current.kind === 'integer' && t.operand.kind === 'integer' ? { kind: 'integer', value: sum } : { kind: 'double', value: sum };
    }
    case 'maximum':
    case 'minimum': {
      if (!isNumber(t.operand)) throw new RpcError(Status.INVALID_ARGUMENT, `${t.op} needs a numeric operand.`);
      if (!current || !isNumber(current)) return t.operand;
      const c = compareValues(t.operand, current);
      // Equal operands (3 and 3.0) leave the field as it is.
      return (t.op === 'maximum' ? c > 0 : c < 0) ? t.operand : current;
    }
    case 'arrayUnion': {
      const out = current?.kind === 'array' ? [...current.value] : [];
      for (const e of t.elements) if (!out.some((x) => valuesEqual(x, e))) out.push(e);
      return { kind: 'array', value: out };
    }
    case 'arrayRemove': {
      const base = current?.kind === 'array' ? current.value : [];
      return { kind: 'array', value: base.filter((x) => !t.elements.some((e) => valuesEqual(x, e))) };
    }
  }
}
