import type { Firestore } from '@google-cloud/firestore';
import { firestorePackage } from '../store/firestore.js';

/**
 * Lossless JSON for Firestore values, one typed tag per kind, so a restore writes back exactly
 * what was read: `{"$int":"…"}` (read with `useBigInt`, so int64 survives), `{"$double":…}`
 * (NaN/±Infinity/-0 as strings), `{"$ts":[seconds,nanos]}`, `{"$bytes":"base64"}`,
 * `{"$ref":"path"}` (relative to the database, so a restored database points into itself),
 * `{"$geo":[lat,lng]}`, `{"$vector":[…]}`, `{"$map":{…}}`; null, booleans, strings and arrays
 * as themselves. Maps are always wrapped so a user key like "$int" can never be mistaken for a tag.
 *
 * One limit of the Node client: it writes an integral double (e.g. 2.0 from another client) as
 * an integer. Values compare equal; only the stored type differs.
 */
export type Encoded = null | boolean | string | Encoded[] | { [tag: string]: unknown };

const SPECIAL_DOUBLES: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

export function encodeValue(value: unknown): Encoded {
  if (value === null) return null;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return { $int: value.toString() };
  if (typeof value === 'number') {
    if (Object.is(value, -0)) return { $double: '-0' };
    return { $double: Number.isFinite(value) ? value : String(value) };
  }
  if (Array.isArray(value)) return value.map(encodeValue);
  const { DocumentReference, GeoPoint, Timestamp, VectorValue } = firestorePackage();
  if (value instanceof Timestamp) return { $ts: [value.seconds, value.nanoseconds] };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value instanceof DocumentReference) return { $ref: value.path };
  if (value instanceof GeoPoint) return { $geo: [value.latitude, value.longitude] };
  if (value instanceof VectorValue) return { $vector: value.toArray() };
  if (typeof value === 'object' && value !== undefined && Object.getPrototypeOf(value) === Object.prototype) {
    return { $map: encodeFields(value as Record<string, unknown>) };
  }
  throw new Error(`Cannot encode a value of type ${typeof value === 'object' ? (value as object).constructor?.name : typeof value}.`);
}

export function encodeFields(fields: Record<string, unknown>): Record<string, Encoded> {
  const out: Record<string, Encoded> = {};
  for (const key of Object.keys(fields).sort()) out[key] = encodeValue(fields[key]);
  return out;
}

export function decodeValue(db: Firestore, encoded: unknown): unknown {
  if (encoded === null || typeof encoded === 'boolean' || typeof encoded === 'string') return encoded;
  if (Array.isArray(encoded)) return encoded.map((v) => decodeValue(db, v));
  if (typeof encoded !== 'object') throw new Error(`Invalid encoded value: ${typeof encoded}.`);
  const keys = Object.keys(encoded);
  if (keys.length !== 1) throw new Error(`Invalid encoded value: expected one tag, got ${keys.length}.`);
  const tag = keys[0]!;
  const v = (encoded as Record<string, unknown>)[tag];
  switch (tag) {
    case '$int':
      if (typeof v !== 'string' || !/^-?\d+$/.test(v)) break;
      return BigInt(v);
    case '$double':
      if (typeof v === 'number') return v;
      if (typeof v === 'string' && v in SPECIAL_DOUBLES) return SPECIAL_DOUBLES[v];
      break;
    case '$ts':
      if (!Array.isArray(v) || v.length !== 2 || !v.every(Number.isInteger)) break;
      return new (firestorePackage().Timestamp)(v[0] as number, v[1] as number);
    case '$bytes':
      if (typeof v !== 'string') break;
      return Buffer.from(v, 'base64');
    case '$ref':
      if (typeof v !== 'string') break;
      return db.doc(v);
    case '$geo':
      if (!Array.isArray(v) || v.length !== 2) break;
      return new (firestorePackage().GeoPoint)(v[0] as number, v[1] as number);
    case '$vector':
      if (!Array.isArray(v) || !v.every((n) => typeof n === 'number')) break;
      return firestorePackage().FieldValue.vector(v as number[]);
    case '$map':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) break;
      return decodeFields(db, v as Record<string, unknown>);
  }
  throw new Error(`Invalid encoded value for tag "${tag}".`);
}

export function decodeFields(db: Firestore, fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) out[key] = decodeValue(db, value);
  return out;
}

/** One NDJSON line: a document's full path (relative to its database) and its fields. */
export interface DocumentLine {
  path: string;
  fields: Record<string, Encoded>;
}
