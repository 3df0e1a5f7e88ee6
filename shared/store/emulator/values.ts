/**
 * Firestore values as plain data, with Firestore's ordering and equality. Pure: the local
 * emulator shim evaluates writes, queries and transforms on these instead of on protobuf
 * messages, whose `toObject()` cannot tell which member of a oneof is set (an empty string and
 * a missing value look the same).
 */
export interface Ts {
  seconds: number;
  nanos: number;
}

export type FsValue =
  | { kind: 'null' }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'integer'; value: number }
  | { kind: 'double'; value: number }
  | { kind: 'timestamp'; value: Ts }
  | { kind: 'string'; value: string }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'reference'; value: string }
  | { kind: 'geo'; value: { latitude: number; longitude: number } }
  | { kind: 'array'; value: readonly FsValue[] }
  | { kind: 'map'; value: FsFields };

/** A Map, not an object: `__proto__` is a legal Firestore field name. */
export type FsFields = ReadonlyMap<string, FsValue>;

export interface StoredDoc {
  /** Full resource name: projects/{p}/databases/{d}/documents/{collection}/{id}... */
  name: string;
  fields: FsFields;
  createTime: Ts;
  updateTime: Ts;
}

export const tsFromMillis = (ms: number): Ts => ({
  seconds: Math.floor(ms / 1000),
  nanos: (ms - Math.floor(ms / 1000) * 1000) * 1_000_000,
});
export const tsToMillis = (ts: Ts): number => ts.seconds * 1000 + Math.floor(ts.nanos / 1_000_000);
export const tsCompare = (a: Ts, b: Ts): number => a.seconds - b.seconds || a.nanos - b.nanos;

/** Firestore's order of value types (null first, maps last); integers and doubles share a rank. */
function typeRank(v: FsValue): number {
  switch (v.kind) {
    case 'null': return 0;
    case 'boolean': return 1;
    case 'integer':
    case 'double': return 2;
    case 'timestamp': return 3;
    case 'string': return 4;
    case 'bytes': return 5;
    case 'reference': return 6;
    case 'geo': return 7;
    case 'array': return 8;
    case 'map': return 9;
  }
}

export const sameTypeClass = (a: FsValue, b: FsValue): boolean => typeRank(a) === typeRank(b);
export const isNumber = (v: FsValue): v is Extract<FsValue, { kind: 'integer' | 'double' }> =>
  v.kind === 'integer' || v.kind === 'double';
export const isNaNValue = (v: FsValue): boolean => v.kind === 'double' && Number.isNaN(v.value);

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Code-point order, which is the UTF-8 byte order Firestore uses (UTF-16 order differs above the BMP). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return sign(a.length - i - (b.length - j));
}

function compareNumbers(a: number, b: number): number {
  // NaN sorts before every other number and equals itself.
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return sign(a.length - b.length);
}

export function compareReferences(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  const n = Math.min(sa.length, sb.length);
  for (let i = 0; i < n; i++) {
    const c = compareStrings(sa[i]!, sb[i]!);
    if (c !== 0) return c;
  }
  return sign(sa.length - sb.length);
}

/** Total order over all values, as Firestore sorts them in queries. */
export function compareValues(a: FsValue, b: FsValue): number {
  const r = typeRank(a) - typeRank(b);
  if (r !== 0) return sign(r);
  switch (a.kind) {
    case 'null': return 0;
    case 'boolean': return sign(Number(a.value) - Number((b as typeof a).value));
    case 'integer':
    case 'double': return compareNumbers(a.value, (b as Extract<FsValue, { kind: 'integer' | 'double' }>).value);
    case 'timestamp': return sign(tsCompare(a.value, (b as typeof a).value));
    case 'string': return compareStrings(a.value, (b as typeof a).value);
    case 'bytes': return compareBytes(a.value, (b as typeof a).value);
    case 'reference': return compareReferences(a.value, (b as typeof a).value);
    case 'geo': {
      const o = (b as typeof a).value;
      return compareNumbers(a.value.latitude, o.latitude) || compareNumbers(a.value.longitude, o.longitude);
    }
    case 'array': {
      const o = (b as typeof a).value;
      const n = Math.min(a.value.length, o.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(a.value[i]!, o[i]!);
        if (c !== 0) return c;
      }
      return sign(a.value.length - o.length);
    }
    case 'map': {
      const ka = [...a.value.keys()].sort(compareStrings);
      const o = (b as typeof a).value;
      const kb = [...o.keys()].sort(compareStrings);
      const n = Math.min(ka.length, kb.length);
      for (let i = 0; i < n; i++) {
        const c = compareStrings(ka[i]!, kb[i]!) || compareValues(a.value.get(ka[i]!)!, o.get(kb[i]!)!);
        if (c !== 0) return c;
      }
      return sign(ka.length - kb.length);
    }
  }
}

/** Query equality: 1 equals 1.0, NaN equals NaN (as array-union de-duplication treats them). */
export const valuesEqual = (a: FsValue, b: FsValue): boolean => compareValues(a, b) === 0;

/** Exact identity of stored data (an integer 1 is not the double 1.0); decides no-op writes. */
export function sameValue(a: FsValue, b: FsValue): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'double': return Object.is(a.value, (b as typeof a).value);
    case 'array': {
      const o = (b as typeof a).value;
      return a.value.length === o.length && a.value.every((v, i) => sameValue(v, o[i]!));
    }
    case 'map': return sameFields(a.value, (b as typeof a).value);
    default: return compareValues(a, b) === 0;
  }
}

export function sameFields(a: FsFields, b: FsFields): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !sameValue(v, w)) return false;
  }
  return true;
}
