import { canonicalJson, emptyHead, GENESIS_HASH, linkRecord, recordHash, verifyAuditChain, verifyAuditChains } from '../../shared/audit/chain.js';

function chainOf(n: number, chain = 'chain_a') {
  let head = emptyHead(chain);
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const r = linkRecord(head, { id: `aud_${i}`, time: `2026-03-01T10:00:0${i}Z`, actor: 'analyst@example.com', action: 'investigations.read', outcome: 'allowed', details: { n: i, nested: { b: 1, a: [1, 2] } } });
    head = { chain, seq: r.seq, hash: r.hash };
    out.push(r as unknown as Record<string, unknown>);
  }
  return out;
}

describe('audit hash chain', () => {
  it('links records: seq from 0, prev_hash of the previous, hash over the canonical record', () => {
    const [a, b] = chainOf(2);
    expect(a).toMatchObject({ chain: 'chain_a', seq: 0, prev_hash: GENESIS_HASH });
    expect(b).toMatchObject({ seq: 1, prev_hash: a!.hash });
    expect(recordHash(b!)).toBe(b!.hash);
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [2, 1] } })).toBe('{"a":{"c":[2,1]},"b":1}');
    // Key order does not matter (a record read back from JSON or a Struct may be reordered).
    const reordered = Object.fromEntries(Object.entries(b!).reverse());
    expect(verifyAuditChain([a, reordered])).toMatchObject({ ok: true, checked: 2 });
  });

  it('accepts an intact chain and reports its head', () => {
    const records = chainOf(6);
    expect(verifyAuditChain(records)).toEqual({ ok: true, checked: 6, unchained: 0, chain: 'chain_a', head: { seq: 5, hash: records[5]!.hash } });
  });

  it('names a changed record', () => {
    const records = chainOf(6);
    records[3] = { ...records[3], actor: 'someone.else@example.com' };
    expect(verifyAuditChain(records).firstBad).toMatchObject({ index: 3, seq: 3, reason: 'changed' });
    const nested = chainOf(6);
    (nested[2]!.details as { n: number }).n = 99;
    expect(verifyAuditChain(nested).firstBad).toMatchObject({ index: 2, reason: 'changed' });
  });

  it('names a changed record even when its hash was recomputed', () => {
    const records = chainOf(6);
    const forged = { ...records[3], outcome: 'denied' } as Record<string, unknown>;
    forged.hash = recordHash(forged);
    records[3] = forged;
    expect(verifyAuditChain(records).firstBad).toMatchObject({ index: 3, seq: 3, reason: 'changed' });
  });

  it('names the record after a deleted one', () => {
    const records = chainOf(6);
    records.splice(3, 1);
    const v = verifyAuditChain(records);
    expect(v).toMatchObject({ ok: false, checked: 4, head: { seq: 2 } });
    expect(v.firstBad).toMatchObject({ index: 3, seq: 4, reason: 'deleted' });
    const first = chainOf(3);
    first.shift();
    expect(verifyAuditChain(first).firstBad).toMatchObject({ index: 0, seq: 1, reason: 'deleted' });
  });

  it('names the first of two swapped records', () => {
    const records = chainOf(6);
    [records[2], records[3]] = [records[3]!, records[2]!];
    expect(verifyAuditChain(records).firstBad).toMatchObject({ index: 2, seq: 3, reason: 'reordered' });
  });

  it('names an inserted record: junk, a duplicate, a well-formed forgery, another chain’s', () => {
    const junk = chainOf(5);
    junk.splice(3, 0, { id: 'aud_x', action: 'investigations.read', seq: 3, hash: 'f'.repeat(64) });
    expect(verifyAuditChain(junk).firstBad).toMatchObject({ index: 3, reason: 'inserted' });

    const dup = chainOf(5);
    dup.splice(3, 0, { ...dup[1] });
    expect(verifyAuditChain(dup).firstBad).toMatchObject({ index: 3, seq: 1, reason: 'inserted' });

    const forged = chainOf(5);
    const fake = linkRecord({ chain: 'chain_a', seq: 2, hash: forged[2]!.hash as string }, { id: 'aud_fake', action: 'role-bindings.put', outcome: 'allowed' });
    forged.splice(3, 0, fake as unknown as Record<string, unknown>);
    expect(verifyAuditChain(forged).firstBad).toMatchObject({ index: 3, seq: 3, reason: 'inserted' });

    const mixed = chainOf(4);
    mixed.splice(2, 0, chainOf(1, 'chain_b')[0]!);
    expect(verifyAuditChain(mixed).firstBad).toMatchObject({ index: 2, reason: 'inserted' });
  });

  it('skips records written before the chain existed, but not ones slipped in later', () => {
    const legacy = [{ id: 'aud_old1', action: 'x' }, { id: 'aud_old2', action: 'x' }];
    expect(verifyAuditChain([...legacy, ...chainOf(3)])).toMatchObject({ ok: true, unchained: 2, checked: 3 });
    const records = chainOf(4);
    records.splice(2, 0, { id: 'aud_new', action: 'x' });
    expect(verifyAuditChain(records).firstBad).toMatchObject({ index: 2, reason: 'inserted' });
  });

  it('detects a cut-off tail against an anchored head', () => {
    const records = chainOf(6);
    const anchor = { seq: 5, hash: records[5]!.hash as string };
    expect(verifyAuditChain(records, { expectedHead: anchor }).ok).toBe(true);
    expect(verifyAuditChain(records.slice(0, 4), { expectedHead: anchor }).firstBad).toMatchObject({ index: 4, seq: 4, reason: 'deleted' });
  });

  it('verifies interleaved chains of several writers separately, with indexes into the stream', () => {
    const a = chainOf(3, 'a');
    const b = chainOf(3, 'b');
    const stream = [a[0], b[0], a[1], b[1], b[2], a[2]];
    expect(verifyAuditChains(stream).ok).toBe(true);
    const broken = [a[0], b[0], b[1], a[2], b[2]];
    const v = verifyAuditChains(broken);
    expect(v.ok).toBe(false);
    expect(v.chains.find((c) => c.chain === 'a')!.firstBad).toMatchObject({ index: 3, reason: 'deleted' });
  });
});
