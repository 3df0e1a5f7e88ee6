import type { FsFields, FsValue } from './values.js';
import { RpcError, Status } from './rpc-error.js';

/**
 * Field paths in Firestore's canonical string form (`a.b`, `` `odd.key`.c ``) and copy-on-write
 * access to nested map fields. Pure.
 */
export type FieldPath = readonly string[];

export const DOCUMENT_NAME_PATH = '__name__';

export function parseFieldPath(text: string): FieldPath {
  const segments: string[] = [];
  let i = 0;
  while (i <= text.length) {
    let segment = '';
    if (text[i] === '`') {
      i++;
      for (;;) {
        if (i >= text.length) throw new RpcError(Status.INVALID_ARGUMENT, `Unterminated backtick in field path "${text}".`);
        const ch = text[i]!;
        if (ch === '\\' && i + 1 < text.length) {
          segment += text[i + 1];
          i += 2;
        } else if (ch === '`') {
          i++;
          break;
        } else {
          segment += ch;
          i++;
        }
      }
    } else {
      const end = text.indexOf('.', i);
      segment = text.slice(i, end === -1 ? text.length : end);
      i = end === -1 ? text.length : end;
    }
    if (segment === '') throw new RpcError(Status.INVALID_ARGUMENT, `Invalid field path "${text}".`);
    segments.push(segment);
    if (i >= text.length) break;
    if (text[i] !== '.') throw new RpcError(Status.INVALID_ARGUMENT, `Invalid field path "${text}".`);
    i++;
  }
  return segments;
}

export function getAtPath(fields: FsFields, path: FieldPath): FsValue | undefined {
  let current: FsFields = fields;
  for (let i = 0; i < path.length - 1; i++) {
    const next = current.get(path[i]!);
    if (next?.kind !== 'map') return undefined;
    current = next.value;
  }
  return current.get(path[path.length - 1]!);
}

/** Returns a new map with `value` at `path`; intermediate non-map values are replaced by maps. */
export function setAtPath(fields: FsFields, path: FieldPath, value: FsValue): FsFields {
  const [head, ...rest] = path;
  const out = new Map(fields);
  if (rest.length === 0) {
    out.set(head!, value);
  } else {
    const child = fields.get(head!);
    out.set(head!, { kind: 'map', value: setAtPath(child?.kind === 'map' ? child.value : new Map(), rest, value) });
  }
  return out;
}

/** Returns a new map without `path`; unchanged (same object) when the path does not exist. */
export function deleteAtPath(fields: FsFields, path: FieldPath): FsFields {
  const [head, ...rest] = path;
  if (!fields.has(head!)) return fields;
  if (rest.length === 0) {
    const out = new Map(fields);
    out.delete(head!);
    return out;
  }
  const child = fields.get(head!)!;
  if (child.kind !== 'map') return fields;
  const updated = deleteAtPath(child.value, rest);
  if (updated === child.value) return fields;
  return new Map(fields).set(head!, { kind: 'map', value: updated });
}

/** Keeps only the given paths (a query's `select` or a read's field mask). */
export function projectFields(fields: FsFields, paths: readonly FieldPath[]): FsFields {
  let out: FsFields = new Map();
  for (const path of paths) {
    const value = getAtPath(fields, path);
    if (value !== undefined) out = setAtPath(out, path, value);
  }
  return out;
}
