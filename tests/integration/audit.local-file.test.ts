import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyAuditChain } from '../../shared/audit/chain.js';
import { LocalFileAuditLog } from '../../shared/audit/local-file.js';
import type { AuditInput } from '../../shared/audit/model.js';
import { ManualClock } from '../../shared/platform/clock.js';

const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
const input = (action: string, extra: Partial<AuditInput> = {}): AuditInput => ({
  actor: 'Analyst@Example.com',
  roles: ['analyst'],
  action,
  resource: 'investigations/inv_1',
  outcome: 'allowed',
  reason: null,
  request_id: 'req_1',
  trace: null,
  source_ip: '127.0.0.1',
  ...extra,
});

function readLines(file: string): unknown[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

describe('LocalFileAuditLog hash chain', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-audit-'));
  });

  it('keeps one chain across restarts', async () => {
    const file = path.join(dir, 'audit', 'audit.jsonl');
    const first = new LocalFileAuditLog(file, clock);
    await first.write(input('a'));
    await first.write(input('b'));
    await first.close();
    const second = new LocalFileAuditLog(file, clock);
    await second.write(input('c'));
    await second.close();
    const records = readLines(file) as { chain: string; seq: number; actor: string }[];
    expect(records.map((r) => r.seq)).toEqual([0, 1, 2]);
    expect(new Set(records.map((r) => r.chain)).size).toBe(1);
    expect(records[0]!.actor).toBe('analyst@example.com');
    expect(verifyAuditChain(records)).toMatchObject({ ok: true, checked: 3 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('serialises concurrent writers into one valid chain, each acknowledged record on disk', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const log = new LocalFileAuditLog(file, clock);
    const written = await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(input(`act_${i}`, { details: { i, email: `u${i}@example.com` } }))));
    expect(written.map((r) => r.seq).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const records = readLines(file);
    expect(records).toHaveLength(200);
    expect(verifyAuditChain(records)).toMatchObject({ ok: true, checked: 200 });
    // The writer still redacts personal data before it is hashed and stored.
    expect(fs.readFileSync(file, 'utf8')).not.toContain('u7@example.com');
    const page = await log.query({ page_size: 2 });
    expect(page.items[0]).toMatchObject({ seq: 199, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await log.close();
  });

  it('acknowledges a record appended right after the previous one was acknowledged', async () => {
    // A caller that appends again as soon as its record is durable must not join the drain that
    // is finishing: its record would never be written and the request would hang.
    const file = path.join(dir, 'audit.jsonl');
    const log = new LocalFileAuditLog(file, clock);
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) seqs.push((await log.append(input(`seq_${i}`))).seq!);
    await log.close();
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
    expect(verifyAuditChain(readLines(file))).toMatchObject({ ok: true, checked: 5 });
  });

  it('cuts off a half-written last line left by a crash and continues the chain', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const log = new LocalFileAuditLog(file, clock);
    await log.write(input('a'));
    await log.close();
    fs.appendFileSync(file, '{"id":"aud_partial","time":"2026-');
    const after = new LocalFileAuditLog(file, clock);
    await after.write(input('b'));
    await after.close();
    const records = readLines(file) as { seq: number }[];
    expect(records.map((r) => r.seq)).toEqual([0, 1]);
    expect(verifyAuditChain(records).ok).toBe(true);
  });

  it('starts the chain after records written before it existed', async () => {
    const file = path.join(dir, 'audit.jsonl');
    fs.writeFileSync(file, JSON.stringify({ id: 'aud_legacy', time: '2026-01-01T00:00:00Z', actor: null, roles: [], action: 'old', resource: null, outcome: 'allowed', reason: null, request_id: null, trace: null, source_ip: null }) + '\n');
    const log = new LocalFileAuditLog(file, clock);
    await log.write(input('new'));
    await log.close();
    expect(verifyAuditChain(readLines(file))).toMatchObject({ ok: true, unchained: 1, checked: 1 });
  });
});
