import { SeparationOfDutiesError } from '../../shared/auth/errors.js';
import { LegalHoldError } from '../../shared/compliance/errors.js';
import { NotFoundError } from '../../shared/platform/errors.js';
import { compliance, compliance2, seedInvestigation, startFixture, type Fixture } from './compliance-fixture.js';

/**
 * Compliance use cases on the real client and embedded emulator: visibility like reads (0040),
 * four eyes on holds (0041), and every record they write carries the request's origin (0042).
 */
const FROM_REQUEST = { ...compliance, requestId: 'req-access-0001', trace: '4bf92f3577b34da6a3ce929d0e0e4736', sourceIp: '203.0.113.7' };
const SECOND = { ...compliance2, requestId: 'req-access-0002', trace: '0af7651916cd43dd8448eb211c80319c', sourceIp: '198.51.100.9' };

describe('compliance: visibility, separation of duties, request origin on every record', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await startFixture();
  });
  afterEach(async () => {
    await f.stop();
  });

  it('purging a restricted investigation the caller cannot see is "not found", and nothing is deleted', async () => {
    const hidden = await seedInvestigation(f, { type: 'user_id', value: 'u_hidden' }, { sensitivity: 'restricted', team: 'trust' }, { comments: ['note'] });
    const err = await f.compliance.purge.purge(hidden.id, FROM_REQUEST, 'tidy up').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((await f.db.collection('investigations').doc(hidden.id).get()).exists).toBe(true);
    expect((await f.db.collection('investigations').doc(hidden.id).collection('comments').get()).size).toBe(1);
    expect(f.audit.records.filter((r) => r.action === 'investigations.delete')).toEqual([]);
    // The same officer assigned to it sees it, and may purge it.
    await f.db.collection('investigations').doc(hidden.id).update({ assignee: compliance.email });
    await expect(f.compliance.purge.purge(hidden.id, FROM_REQUEST, 'tidy up')).resolves.toMatchObject({ deleted: 2 });
  });

  it('placing a hold on a restricted investigation by id needs sight of it; a query hold still covers it', async () => {
    const hidden = await seedInvestigation(f, { type: 'user_id', value: 'u_hidden2' }, { sensitivity: 'restricted', team: 'trust' });
    await expect(f.compliance.holds.place({ investigation_id: hidden.id, reason: 'r', matter: 'M-1' }, FROM_REQUEST)).rejects.toBeInstanceOf(NotFoundError);
    await expect(f.compliance.holds.place({ investigation_id: 'inv_missing', reason: 'r', matter: 'M-1' }, FROM_REQUEST)).rejects.toBeInstanceOf(NotFoundError);
    await f.compliance.holds.place({ query: { team: 'trust' }, reason: 'r', matter: 'M-2' }, FROM_REQUEST);
    // The purge of a held (and visible) investigation is refused by the gate, not by visibility.
    const visible = await seedInvestigation(f, { type: 'user_id', value: 'u_seen' }, { team: 'trust' });
    await expect(f.compliance.purge.purge(visible.id, FROM_REQUEST, 'x')).rejects.toBeInstanceOf(LegalHoldError);
  });

  it('the officer who placed a hold cannot release it; a second officer can', async () => {
    const inv = await seedInvestigation(f, { type: 'user_id', value: 'u_held' });
    const hold = await f.compliance.holds.place({ investigation_id: inv.id, reason: 'inquiry', matter: 'REG-1' }, FROM_REQUEST);
    const err = await f.compliance.holds.release(hold.id, 'done', { ...FROM_REQUEST, email: 'COMPLIANCE@example.com' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeparationOfDutiesError);
    expect(err).toMatchObject({ status: 403, type: 'separation-of-duties', rule: 'hold-release-by-placer' });
    expect((await f.compliance.holds.get(hold.id)).state).toBe('active');
    expect(f.audit.records.filter((r) => r.action === 'legal_holds.release')).toEqual([]);
    const released = await f.compliance.holds.release(hold.id, 'done', SECOND);
    expect(released).toMatchObject({ state: 'released', released_by: compliance2.email, placed_by: compliance.email });
  });

  it('every record written for holds, purge, blocked deletions, erasure, retention changes and on-demand sweeps carries the request\'s source IP and trace', async () => {
    const inv = await seedInvestigation(f, { type: 'email', value: 'held.person@example.com' });
    const hold = await f.compliance.holds.place({ investigation_id: inv.id, reason: 'inquiry', matter: 'REG-2' }, FROM_REQUEST);
    await expect(f.compliance.purge.purge(inv.id, FROM_REQUEST, 'tidy')).rejects.toBeInstanceOf(LegalHoldError);
    await f.compliance.holds.release(hold.id, 'closed', SECOND);
    await f.compliance.purge.purge(inv.id, FROM_REQUEST, 'tidy');
    await f.compliance.erasure.request({ type: 'email', value: 'someone.else@example.com' }, FROM_REQUEST);
    await f.compliance.retention.update([{ kind: 'investigations.closed', days: 400 }], FROM_REQUEST);
    await f.compliance.retention.run({ dryRun: true, actor: FROM_REQUEST.email, origin: { request_id: FROM_REQUEST.requestId, trace: FROM_REQUEST.trace, source_ip: FROM_REQUEST.sourceIp } });

    const byAction = (a: string) => f.audit.records.filter((r) => r.action === a);
    const expected = ['legal_holds.place', 'legal_hold.blocked_deletion', 'legal_holds.release', 'investigations.delete', 'erasure.request', 'retention.policy_changed', 'retention.dry_run'];
    for (const action of expected) {
      const records = byAction(action);
      expect({ action, n: records.length }).toEqual({ action, n: 1 });
      const from = action === 'legal_holds.release' ? SECOND : FROM_REQUEST;
      expect({ action, source_ip: records[0]!.source_ip, trace: records[0]!.trace, request_id: records[0]!.request_id }).toEqual({
        action,
        source_ip: from.sourceIp,
        trace: from.trace,
        request_id: from.requestId,
      });
    }
  });
});
