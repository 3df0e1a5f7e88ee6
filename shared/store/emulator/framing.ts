import { crc32 } from 'node:zlib';

/**
 * Record framing shared by the write-ahead log and the snapshot:
 * `u32 LE payload length | u32 LE crc32(payload) | payload`. Pure.
 */
export const HEADER_BYTES = 8;
/** Larger lengths can only come from corruption; refuse them instead of allocating. */
const MAX_RECORD_BYTES = 512 * 1024 * 1024;

export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  out.set(payload, HEADER_BYTES);
  return out;
}

export interface ReadResult {
  records: Buffer[];
  /** Offset just past the last intact record. */
  validBytes: number;
  /**
   * Why reading stopped before the end of the data: `torn` when the rest is one incomplete or
   * zero-filled final record (an interrupted append), `corrupt` when intact-looking data follows
   * a bad record (something else damaged the file).
   */
  stop?: { reason: 'torn' | 'corrupt'; offset: number };
}

export function readFrames(data: Buffer): ReadResult {
  const records: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    const remaining = data.length - offset;
    const bad = (): ReadResult => ({ records, validBytes: offset, stop: { reason: classify(data, offset), offset } });
    if (remaining < HEADER_BYTES) return bad();
    const length = data.readUInt32LE(offset);
    if (length > MAX_RECORD_BYTES || HEADER_BYTES + length > remaining) return bad();
    const payload = data.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
    if (length === 0 || crc32(payload) !== data.readUInt32LE(offset + 4)) return bad();
    records.push(payload);
    offset += HEADER_BYTES + length;
  }
  return { records, validBytes: offset };
}

/**
 * A bad record is a torn tail if nothing after it could be a record: the rest is zeros, or it runs
 * to the end and no intact record follows. A damaged length field also "runs to the end", so an
 * intact record found after it means damage in the middle, not an interrupted append.
 */
function classify(data: Buffer, offset: number): 'torn' | 'corrupt' {
  const remaining = data.length - offset;
  if (remaining < HEADER_BYTES) return 'torn';
  if (data.subarray(offset).every((b) => b === 0)) return 'torn';
  const length = data.readUInt32LE(offset);
  if (HEADER_BYTES + length < remaining) return 'corrupt';
  return intactRecordAfter(data, offset + 1) ? 'corrupt' : 'torn';
}

/** Whether a whole record with a matching checksum starts anywhere at or after `from` (only on damage). */
function intactRecordAfter(data: Buffer, from: number): boolean {
  for (let at = from; at + HEADER_BYTES < data.length; at++) {
    const length = data.readUInt32LE(at);
    if (length === 0 || at + HEADER_BYTES + length > data.length) continue;
    if (crc32(data.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length)) === data.readUInt32LE(at + 4)) return true;
  }
  return false;
}
