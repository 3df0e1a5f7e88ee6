import { ConflictError } from '../../shared/platform/errors.js';
import { compliance, startFixture, type Fixture } from './compliance-fixture.js';

const FROM_REQUEST = { ...compliance, requestId: 'req-ext-0001', trace: '4bf92f3577b34da6a3ce929d0e0e4736', sourceIp: '203.0.113.8' };
const REASON = 'Subject holds many linked accounts; collecting them takes longer.';

describe('extending an erasure deadline (embedded emulator)', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await startFixture(new Date('2026-03-01T09:00:00Z'));
  });
  afterEach(async () => {
    await f.stop();
  });

  it('extends once, audited with the request origin; the request reads the new deadline, the reason, who and when', async () => {
    const { doc } = await f.compliance.erasure.request({ type: 'email', value: 'slow.case@example.com' }, FROM_REQUEST);
    f.clock.advance(3 * 86_400_000);
    const extended = await f.compliance.extensions.extend(doc.id, { reason: REASON, subject_informed: true }, FROM_REQUEST);
    expect(extended.due_at).toBe('2026-06-01T09:00:00.000Z');
    const stored = await f.compliance.erasure.get(doc.id);
    expect(stored.extension).toEqual({
      original_due_at: '2026-04-01T09:00:00.000Z',
      extended_until: '2026-06-01T09:00:00.000Z',
      reason: REASON,
      extended_by: compliance.email,
      extended_at: '2026-03-04T09:00:00.000Z',
      subject_informed: true,
    });
    const audit = f.audit.records.filter((r) => r.action === 'erasure.extended');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ reason: REASON, source_ip: '203.0.113.8', trace: FROM_REQUEST.trace, request_id: 'req-ext-0001', details: { original_due_at: '2026-04-01T09:00:00.000Z', extended_until: '2026-06-01T09:00:00.000Z' } });
  });

  it('five parallel extensions of one request: exactly one succeeds, the others are 409 erasure-already-extended', async () => {
    const { doc } = await f.compliance.erasure.request({ type: 'email', value: 'raced@example.com' }, FROM_REQUEST);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => f.compliance.extensions.extend(doc.id, { reason: REASON, subject_informed: true }, FROM_REQUEST)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(4);
    for (const r of refused) expect(r.reason).toMatchObject({ status: 409, type: 'erasure-already-extended' });
    expect(refused[0]!.reason).toBeInstanceOf(ConflictError);
    expect(f.audit.records.filter((r) => r.action === 'erasure.extended')).toHaveLength(1);
  });

  it('an unknown request is not found', async () => {
    await expect(f.compliance.extensions.extend('era_nope', { reason: REASON, subject_informed: true }, FROM_REQUEST)).rejects.toMatchObject({ status: 404 });
    await expect(f.compliance.extensions.extend('../x', { reason: REASON, subject_informed: true }, FROM_REQUEST)).rejects.toMatchObject({ status: 404 });
  });
});
