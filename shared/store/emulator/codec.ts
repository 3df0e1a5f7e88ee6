import type { FsFields, FsValue, StoredDoc, Ts } from './values.js';

/**
 * On-disk form of documents: compact tagged JSON. Pure. Chosen over protobuf because it is
 * several times faster with google-protobuf, readable when debugging, and independent of the
 * emulator package's generated classes. Every type round-trips exactly (doubles vs integers,
 * NaN/±Infinity/-0, bytes, `__proto__` keys):
 *   null | boolean | string | ["i", n] | ["d", n | "NaN" | "Infinity" | "-Infinity" | "-0"]
 *   | ["t", seconds, nanos] | ["b", base64] | ["r", name] | ["g", lat, lng] | ["a", ...values]
 *   | ["m", key1, value1, key2, value2, ...]
 */
export type Encoded = null | boolean | string | Encoded[] | number;

export class CodecError extends Error {
  override name = 'CodecError';
}

export function encodeValue(v: FsValue): Encoded {
  switch (v.kind) {
    case 'null': return null;
    case 'boolean': return v.value;
    case 'string': return v.value;
    case 'integer': return ['i', v.value];
    case 'double': {
      const d = v.value;
      return ['d', Number.isFinite(d) ? (Object.is(d, -0) ? '-0' : d) : String(d)];
    }
    case 'timestamp': return ['t', v.value.seconds, v.value.nanos];
    case 'bytes': return ['b', Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64')];
    case 'reference': return ['r', v.value];
    case 'geo': return ['g', v.value.latitude, v.value.longitude];
    case 'array': return ['a', ...v.value.map(encodeValue)];
    case 'map': return encodeFields(v.value);
  }
}

export function encodeFields(fields: FsFields): Encoded[] {
  const out: Encoded[] = ['m'];
  for (const [k, v] of fields) out.push(k, encodeValue(v));
  return out;
}

const num = (x: Encoded | undefined): number => {
  if (typeof x !== 'number') throw new CodecError('Expected a number.');
  return x;
};
const str = (x: Encoded | undefined): string => {
  if (typeof x !== 'string') throw new CodecError('Expected a string.');
  return x;
};

export function decodeValue(e: Encoded): FsValue {
  if (e === null) return { kind: 'null' };
  if (typeof e === 'boolean') return { kind: 'boolean', value: e };
  if (typeof e === 'string') return { kind: 'string', value: e };
  if (!Array.isArray(e)) throw new CodecError('Unexpected value encoding.');
  switch (e[0]) {
    case 'i': return { kind: 'integer', value: num(e[1]) };
    case 'd': {
      const d = e[1];
      if (typeof d === 'number') return { kind: 'double', value: d };
      const special: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };
      if (typeof d === 'string' && d in special) return { kind: 'double', value: special[d]! };
      throw new CodecError('Unexpected double encoding.');
    }
    case 't': return { kind: 'timestamp', value: { seconds: num(e[1]), nanos: num(e[2]) } };
    case 'b': return { kind: 'bytes', value: new Uint8Array(Buffer.from(str(e[1]), 'base64')) };
    case 'r': return { kind: 'reference', value: str(e[1]) };
    case 'g': return { kind: 'geo', value: { latitude: num(e[1]), longitude: num(e[2]) } };
    case 'a': return { kind: 'array', value: e.slice(1).map(decodeValue) };
    case 'm': return { kind: 'map', value: decodeFields(e) };
    default: throw new CodecError(`Unknown value tag ${JSON.stringify(e[0])}.`);
  }
}

export function decodeFields(e: Encoded): FsFields {
  if (!Array.isArray(e) || e[0] !== 'm' || e.length % 2 !== 1) throw new CodecError('Unexpected map encoding.');
  const out = new Map<string, FsValue>();
  for (let i = 1; i < e.length; i += 2) out.set(str(e[i]), decodeValue(e[i + 1]!));
  return out;
}

const encodeTs = (t: Ts): Encoded[] => [t.seconds, t.nanos];
const decodeTs = (e: Encoded | undefined): Ts => {
  if (!Array.isArray(e)) throw new CodecError('Unexpected timestamp encoding.');
  return { seconds: num(e[0]), nanos: num(e[1]) };
};

/** `[name, createTime, updateTime, fields]` */
export const encodeDoc = (d: StoredDoc): Encoded => [d.name, encodeTs(d.createTime), encodeTs(d.updateTime), encodeFields(d.fields)];

export function decodeDoc(e: Encoded): StoredDoc {
  if (!Array.isArray(e) || e.length !== 4) throw new CodecError('Unexpected document encoding.');
  return { name: str(e[0]), createTime: decodeTs(e[1]), updateTime: decodeTs(e[2]), fields: decodeFields(e[3]!) };
}
