import { ChainAnchor } from '../../shared/audit/anchor.js';
import { checkAnchors, checkpointDue, checkpointSigner, checkpointVerifier, generateCheckpointKey, type Checkpoint } from '../../shared/audit/checkpoint.js';
import type { CheckpointSink } from '../../shared/audit/checkpoint-sink.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';

const key = generateCheckpointKey();
const signer = checkpointSigner(key);
const verifier = checkpointVerifier({ secretValue: key });
const h = (n: number) => n.toString(16).padStart(64, '0');
const cp = (seq: number, hash = h(seq)) => signer.sign({ chain: 'c1', seq, count: seq + 1, head_hash: hash, time: '2026-03-01T10:00:00.000Z' });
const heads = (last: number) => new Map(Array.from({ length: last + 1 }, (_, i) => [i, h(i)] as [number, string]));
const stored = (...cps: unknown[]) => cps.map((value, i) => ({ where: `cp${i}`, value }));

describe('checkpoint signatures', () => {
  it('verifies its own checkpoints and rejects any edited field or another key', () => {
    const c = cp(9);
    expect(verifier.valid(c)).toBe(true);
    expect(checkpointVerifier({ publicKeyPem: verifier.publicKeyPem }).valid(c)).toBe(true);
    for (const edit of [{ seq: 10 }, { count: 11 }, { head_hash: h(1) }, { time: '2026-03-02T10:00:00.000Z' }, { chain: 'c2' }]) expect(verifier.valid({ ...c, ...edit } as Checkpoint)).toBe(false);
    expect(checkpointVerifier({ secretValue: generateCheckpointKey() }).valid(c)).toBe(false);
  });
});

describe('checkpointDue', () => {
  const policy = { every: 100, intervalMs: 60_000 };
  it('is due after `every` new records, or after the interval with at least one new record', () => {
    expect(checkpointDue({ headSeq: 98, anchoredSeq: -1, sinceMs: 0 }, policy)).toBe(false);
    expect(checkpointDue({ headSeq: 99, anchoredSeq: -1, sinceMs: 0 }, policy)).toBe(true);
    expect(checkpointDue({ headSeq: 5, anchoredSeq: 4, sinceMs: 60_000 }, policy)).toBe(true);
    expect(checkpointDue({ headSeq: 4, anchoredSeq: 4, sinceMs: 3_600_000 }, policy)).toBe(false);
    expect(checkpointDue({ headSeq: 5, anchoredSeq: 4, sinceMs: 3_600_000 }, { every: 100, intervalMs: 0 })).toBe(false);
  });
});

describe('checkAnchors', () => {
  it('accepts matching checkpoints and counts the records after the last one', () => {
    expect(checkAnchors('c1', heads(12), 12, stored(cp(4), cp(9)), verifier)).toEqual({ chain: 'c1', ok: true, checkpoints: 2, anchoredSeq: 9, unanchored: 3, problems: [] });
    expect(checkAnchors('c1', heads(3), 3, [], verifier)).toMatchObject({ ok: true, anchoredSeq: null, unanchored: 4 });
  });
  it('names truncation, rewriting and forgery', () => {
    expect(checkAnchors('c1', heads(7), 7, stored(cp(9)), verifier).problems).toEqual([expect.objectContaining({ kind: 'truncated', seq: 9 })]);
    expect(checkAnchors('c1', heads(12), 12, stored(cp(9, h(99))), verifier).problems).toEqual([expect.objectContaining({ kind: 'rewritten', seq: 9 })]);
    expect(checkAnchors('c1', heads(12), 12, stored({ ...cp(9), seq: 12, count: 13, head_hash: h(12) }), verifier).problems).toEqual([expect.objectContaining({ kind: 'forged', detail: 'the signature does not verify' })]);
    expect(checkAnchors('c1', heads(12), 12, stored({ nope: 1 }), verifier).problems).toEqual([expect.objectContaining({ kind: 'forged', detail: 'not a well-formed checkpoint' })]);
    expect(checkAnchors('c1', heads(12), 12, stored(cp(9)), null).problems).toEqual([expect.objectContaining({ kind: 'forged', detail: expect.stringMatching(/no checkpoint key/) })]);
  });
  it("ignores another chain's checkpoints", () => {
    const other = signer.sign({ chain: 'c2', seq: 50, count: 51, head_hash: h(50), time: '2026-03-01T10:00:00.000Z' });
    expect(checkAnchors('c1', heads(3), 3, stored(other), verifier)).toMatchObject({ ok: true, checkpoints: 0 });
  });
});

describe('ChainAnchor', () => {
  const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
  const logged: string[] = [];
  const logger = new Logger({}, (l) => logged.push(l), 'WARNING');
  class MemorySink implements CheckpointSink {
    puts: Checkpoint[] = [];
    failNext = 0;
    async put(c: Checkpoint) {
      if (this.failNext-- > 0) throw new Error('bucket unavailable');
      this.puts.push(c);
    }
    async list() {
      return this.puts.map((value) => ({ where: 'mem', value }));
    }
    describe() {
      return 'mem';
    }
  }

  it('checkpoints by count and interval, anchors the last head on close, and retries after a failed write', async () => {
    const sink = new MemorySink();
    const anchor = new ChainAnchor({ sink, signer: async () => signer, clock, logger, every: 3, intervalMs: 60_000 });
    for (let seq = 0; seq < 5; seq++) anchor.observe({ chain: 'c1', seq, hash: h(seq) });
    await anchor.checkpoint();
    expect(sink.puts.map((c) => c.seq)).toEqual([2, 4]);
    anchor.observe({ chain: 'c1', seq: 5, hash: h(5) });
    await anchor.checkpoint();
    sink.failNext = 1;
    anchor.observe({ chain: 'c1', seq: 6, hash: h(6) });
    clock.advance(60_000);
    anchor.maybeCheckpoint();
    await anchor.checkpoint(); // the failed interval checkpoint is retried at the next cue
    expect(sink.puts.map((c) => c.seq)).toEqual([2, 4, 5, 6]);
    expect(logged.join('\n')).toMatch(/audit checkpoint failed/);
    anchor.observe({ chain: 'c1', seq: 7, hash: h(7) });
    await anchor.close();
    expect(sink.puts.map((c) => c.seq)).toEqual([2, 4, 5, 6, 7]);
    expect(sink.puts.every((c) => verifier.valid(c))).toBe(true);
  });
});
