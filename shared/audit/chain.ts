import { createHash } from 'node:crypto';

/**
 * The hash chain that makes the audit trail tamper-evident. Pure.
 *
 * Every record of a chain carries `chain` (its id), `seq` (0, 1, 2, … without gaps), `prev_hash`
 * (the previous record's `hash`, 64 zeros for seq 0) and `hash` = sha256 of the canonical JSON of
 * the record without `hash` (keys sorted, no whitespace; prev_hash included). Changing any field of
 * a record breaks its own hash; deleting, reordering or inserting records breaks the links.
 *
 * One chain per writer: the local audit file is one chain; in production every instance writes
 * its own chain (id = `<service>/<instance start ULID>`) into the Cloud Logging log. The hash is
 * unkeyed, so anyone can verify, but a writer that can rewrite the whole suffix of a chain can
 * also recompute it: the chain's head must be anchored elsewhere for that (production: the locked
 * retention bucket holds every entry as written; see docs/decisions/0011).
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainFields {
  chain: string;
  seq: number;
  prev_hash: string;
  hash: string;
}

/** The last record of a chain, or seq -1 / GENESIS_HASH for an empty one. */
export interface ChainHead {
  chain: string;
  seq: number;
  hash: string;
}

export function emptyHead(chain: string): ChainHead {
  return { chain, seq: -1, hash: GENESIS_HASH };
}

/** JSON with object keys sorted at every level and undefined members dropped (as JSON does). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function recordHash(record: object): string {
  const { hash: _hash, ...rest } = record as Record<string, unknown>;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

/** Appends `record` after `head`: the chained record (the caller then persists it, in order). */
export function linkRecord<T extends object>(head: ChainHead, record: T): T & ChainFields {
  const { hash: _h, seq: _s, prev_hash: _p, chain: _c, ...plain } = record as T & Partial<ChainFields>;
  const body = { ...plain, chain: head.chain, seq: head.seq + 1, prev_hash: head.hash };
  return { ...body, hash: recordHash(body) } as unknown as T & ChainFields;
}

export type ChainBreak = 'changed' | 'deleted' | 'reordered' | 'inserted';

export interface ChainVerification {
  ok: boolean;
  /** Chained records examined (up to and including the first bad one). */
  checked: number;
  /** Leading records written before the chain existed (no chain fields); not verifiable. */
  unchained: number;
  chain: string | null;
  /** The last good record. */
  head: { seq: number; hash: string } | null;
  firstBad?: { index: number; seq: number | null; reason: ChainBreak; detail: string };
}

export interface VerifyOptions {
  /** A head recorded elsewhere (an anchor): a chain that stops short of it lost its tail. */
  expectedHead?: { seq: number; hash: string };
  /** Verify a window that starts mid-chain (e.g. a time-filtered export): trust the first record's link. */
  startMidChain?: boolean;
}

interface Linked {
  chain: string;
  seq: number;
  prev_hash: string;
  hash: string;
}

function asLinked(r: unknown): Linked | null {
  if (!r || typeof r !== 'object' || Array.isArray(r)) return null;
  const o = r as Record<string, unknown>;
  if (typeof o.chain !== 'string' || !Number.isInteger(o.seq) || (o.seq as number) < 0) return null;
  if (typeof o.prev_hash !== 'string' || typeof o.hash !== 'string' || !/^[0-9a-f]{64}$/.test(o.hash)) return null;
  return recordHash(o) === o.hash ? (o as unknown as Linked) : null;
}

function isLegacy(r: unknown): boolean {
  if (!r || typeof r !== 'object' || Array.isArray(r)) return false;
  const o = r as Record<string, unknown>;
  return o.hash === undefined && o.prev_hash === undefined && o.seq === undefined && o.chain === undefined && typeof o.id === 'string';
}

/**
 * Verifies one chain in stored order and names the first bad record (its index in `records`):
 * - changed: a record's content no longer matches its hash (or a record was rewritten and
 *   re-hashed, which shows as the next record not linking to it: the rewritten one is named);
 * - deleted: a gap in seq (the record after the gap is named);
 * - reordered: a record appears before one with a lower seq (the first out of place is named);
 * - inserted: a record that is not part of the chain (a duplicate, a forgery, another chain's).
 */
export function verifyAuditChain(records: readonly unknown[], options: VerifyOptions = {}): ChainVerification {
  let start = 0;
  while (start < records.length && isLegacy(records[start])) start++;
  const result: ChainVerification = { ok: true, checked: 0, unchained: start, chain: null, head: null };
  const fail = (index: number, seq: number | null, reason: ChainBreak, detail: string): ChainVerification => ({
    ...result,
    ok: false,
    firstBad: { index, seq, reason, detail },
  });
  if (start === records.length) return result;

  let expectedSeq = 0;
  let prevHash = GENESIS_HASH;
  const accepted = new Map<number, { index: number; hash: string }>();
  const first = asLinked(records[start]);
  if (first && options.startMidChain) {
    expectedSeq = first.seq;
    prevHash = first.prev_hash;
  }
  result.chain = first?.chain ?? null;
  const linksHere = (r: unknown): boolean => {
    const l = asLinked(r);
    return l !== null && l.chain === result.chain && l.seq === expectedSeq && l.prev_hash === prevHash;
  };

  for (let i = start; i < records.length; i++) {
    result.checked++;
    const raw = records[i];
    const r = asLinked(raw);
    const claimed = raw && typeof raw === 'object' && Number.isInteger((raw as { seq?: unknown }).seq) ? ((raw as { seq: number }).seq) : null;
    if (!r) {
      if (linksHere(records[i + 1])) return fail(i, claimed, 'inserted', 'this record is not part of the chain: the next record continues from the one before it');
      return fail(i, claimed, 'changed', 'the record no longer matches its hash');
    }
    if (result.chain === null) result.chain = r.chain;
    if (r.chain !== result.chain) return fail(i, r.seq, 'inserted', `the record belongs to another chain (${r.chain})`);
    if (r.seq === expectedSeq) {
      if (r.prev_hash !== prevHash) {
        if (linksHere(records[i + 1])) return fail(i, r.seq, 'inserted', 'this record is not part of the chain: the next record continues from the one before it');
        if (i > start) return fail(i - 1, r.seq - 1, 'changed', 'the record was rewritten: the next record does not link to it');
        return fail(i, r.seq, 'changed', 'the first record does not start the chain');
      }
    } else if (r.seq > expectedSeq) {
      const later = records.slice(i + 1).some((x) => asLinked(x)?.seq === expectedSeq);
      if (later) return fail(i, r.seq, 'reordered', `seq ${r.seq} appears before seq ${expectedSeq}`);
      return fail(i, r.seq, 'deleted', r.seq - expectedSeq === 1 ? `the record with seq ${expectedSeq} is missing before this one` : `records with seq ${expectedSeq}-${r.seq - 1} are missing before this one`);
    } else {
      const prior = accepted.get(r.seq);
      const priorPrev = r.seq === 0 ? GENESIS_HASH : accepted.get(r.seq - 1)?.hash;
      const next = asLinked(records[i + 1]);
      if (prior && prior.hash !== r.hash && r.prev_hash === priorPrev && next?.prev_hash === r.hash) {
        return fail(prior.index, r.seq, 'inserted', `a forged record took seq ${r.seq}; the chain continues from the record at index ${i}`);
      }
      return fail(i, r.seq, 'inserted', `seq ${r.seq} was already seen (a duplicate or replayed record)`);
    }
    accepted.set(r.seq, { index: i, hash: r.hash });
    expectedSeq = r.seq + 1;
    prevHash = r.hash;
    result.head = { seq: r.seq, hash: r.hash };
  }
  const anchor = options.expectedHead;
  if (anchor && (result.head?.seq ?? -1) < anchor.seq) {
    return fail(records.length, (result.head?.seq ?? -1) + 1, 'deleted', `the chain ends at seq ${result.head?.seq ?? -1} but the anchor records seq ${anchor.seq}`);
  }
  if (anchor && result.head?.seq === anchor.seq && result.head.hash !== anchor.hash) {
    return fail(records.length - 1, anchor.seq, 'changed', 'the last record does not match the anchored head');
  }
  return result;
}

/** Verifies every chain in a mixed stream (e.g. a Cloud Logging export), each in stored order. */
export function verifyAuditChains(records: readonly unknown[], options: Omit<VerifyOptions, 'expectedHead'> = {}): { ok: boolean; chains: (ChainVerification & { indexes: number[] })[] } {
  const groups = new Map<string, number[]>();
  records.forEach((r, i) => {
    const chain = r && typeof r === 'object' && typeof (r as { chain?: unknown }).chain === 'string' ? (r as { chain: string }).chain : '';
    groups.set(chain, [...(groups.get(chain) ?? []), i]);
  });
  const chains = [...groups.values()].map((indexes) => {
    const v = verifyAuditChain(indexes.map((i) => records[i]), options);
    return { ...v, indexes, ...(v.firstBad ? { firstBad: { ...v.firstBad, index: indexes[v.firstBad.index] ?? records.length } } : {}) };
  });
  return { ok: chains.every((c) => c.ok), chains };
}
