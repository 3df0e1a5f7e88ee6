import { PolicyLockedError } from '../../shared/compliance/errors.js';
import { compliance, compliance2, dumpAll, seedInvestigation, startFixture, type Fixture } from './compliance-fixture.js';

const DAY = 86_400_000;

async function closedInvestigation(f: Fixture, value: string) {
  return seedInvestigation(
    f,
    { type: 'email', value },
    { status: 'closed', decision: { outcome: 'no_action', rationale: 'fine', closed_by: 'lead@example.com', closed_at: f.clock.now().toISOString() } },
    { comments: ['a note'] },
  );
}

const exists = async (f: Fixture, id: string) => (await f.db.collection('investigations').doc(id).get()).exists;

describe('retention sweep on Firestore (embedded emulator, controlled clock)', () => {
  let f: Fixture;
  let base: Date;
  let run = 0;
  beforeEach(async () => {
    // Each test starts a year after the last: ids are monotonic ULIDs within this process, so the
    // controlled clock must never go back.
    base = new Date(Date.UTC(2030 + run++, 0, 1));
    f = await startFixture(base);
    await f.compliance.retention.update([{ kind: 'investigations.closed', days: 30 }], compliance);
  });
  afterEach(async () => {
    await f.stop();
  });

  it('past its date: kept while a hold is in place, deleted at the next sweep after the hold is released', async () => {
    const held = await closedInvestigation(f, 'held@example.com');
    const free = await closedInvestigation(f, 'free@example.com');
    const hold = await f.compliance.holds.place({ investigation_id: held.id, reason: 'dispute', matter: 'M-1' }, compliance);
    f.clock.advance(31 * DAY);

    const dry = await f.compliance.retention.run({ dryRun: true });
    const dryClosed = dry.kinds.find((k) => k.kind === 'investigations.closed')!;
    expect(dryClosed).toMatchObject({ deleted: 1, blocked: 1 });
    expect(dryClosed.samples.delete).toEqual([`investigations/${free.id}`]);
    expect(dryClosed.samples.blocked).toEqual([{ id: `investigations/${held.id}`, holds: [hold.id] }]);
    expect(await exists(f, free.id)).toBe(true);

    const first = await f.compliance.retention.run();
    expect(first.kinds.find((k) => k.kind === 'investigations.closed')).toMatchObject({ deleted: 1, blocked: 1 });
    expect(await exists(f, free.id)).toBe(false);
    expect((await f.db.collection('investigations').doc(free.id).collection('comments').get()).size).toBe(0);
    expect(await exists(f, held.id)).toBe(true);
    expect((await f.db.collection('investigations').doc(held.id).collection('comments').get()).size).toBe(1);
    expect(f.audit.records.filter((a) => a.action === 'retention.delete').flatMap((a) => a.details!.records as string[])).toContain(`investigations/${free.id}`);
    const blockedAudit = f.audit.records.find((a) => a.action === 'legal_hold.blocked_deletion' && a.resource === 'retention/investigations.closed')!;
    expect(blockedAudit.details!.records).toEqual([{ record: `investigations/${held.id}`, legal_holds: [hold.id] }]);

    // Idempotent: nothing more to do while the hold stands.
    const second = await f.compliance.retention.run();
    expect(second.kinds.find((k) => k.kind === 'investigations.closed')).toMatchObject({ deleted: 0, blocked: 1 });

    await f.compliance.holds.release(hold.id, 'dispute over', compliance2);
    await f.compliance.retention.run();
    expect(await exists(f, held.id)).toBe(false);
  });

  it('stamps the TTL field on records due soon, never on held ones, and a new hold clears it; expired records never show', async () => {
    const soon = await closedInvestigation(f, 'soon@example.com');
    const heldSoon = await closedInvestigation(f, 'heldsoon@example.com');
    await f.compliance.holds.place({ subject: { type: 'email', value: 'heldsoon@example.com' }, reason: 'r', matter: 'M-2' }, compliance);
    f.clock.advance(25 * DAY);
    await f.compliance.retention.run();
    const stamp = (await f.db.collection('investigations').doc(soon.id).get()).get('expire_at');
    expect(stamp.toDate().toISOString()).toBe(new Date(base.getTime() + 30 * DAY).toISOString());
    expect((await f.db.collection('investigations').doc(heldSoon.id).get()).get('expire_at')).toBeUndefined();

    // Past expire_at but not yet deleted (neither TTL nor sweep has run): reads treat it as gone.
    f.clock.advance(6 * DAY);
    expect(await f.store.get(soon.id)).toBeNull();
    expect((await f.store.list({}, 50)).map((d) => d.id)).not.toContain(soon.id);

    // Placing a hold takes the stamp off so Firestore TTL cannot delete it either.
    await f.compliance.holds.place({ investigation_id: soon.id, reason: 'r', matter: 'M-3' }, compliance);
    expect((await f.db.collection('investigations').doc(soon.id).get()).get('expire_at')).toBeUndefined();
    expect(await f.store.get(soon.id)).not.toBeNull();
  });

  it('a locked policy can be lengthened but never shortened or unlocked; every change is audited', async () => {
    await f.compliance.retention.update([{ kind: 'webhook_deliveries', days: 60, locked: true }], compliance);
    await expect(f.compliance.retention.update([{ kind: 'webhook_deliveries', days: 59 }], compliance)).rejects.toBeInstanceOf(PolicyLockedError);
    await expect(f.compliance.retention.update([{ kind: 'webhook_deliveries', locked: false }], compliance)).rejects.toBeInstanceOf(PolicyLockedError);
    const longer = await f.compliance.retention.update([{ kind: 'webhook_deliveries', days: 90 }], compliance);
    expect(longer.find((p) => p.kind === 'webhook_deliveries')).toMatchObject({ days: 90, locked: true, updated_by: 'compliance@example.com' });
    const changes = f.audit.records.filter((a) => a.action === 'retention.policy_changed' && a.resource === 'retention-policies/webhook_deliveries');
    expect(changes.map((c) => [(c.details!.before as { days: number }).days, (c.details!.after as { days: number }).days])).toEqual([
      [30, 60],
      [60, 90],
    ]);
  });

  it('the dry run changes nothing', async () => {
    await closedInvestigation(f, 'a@example.com');
    f.clock.advance(40 * DAY);
    const before = await dumpAll(f.db);
    await f.compliance.retention.run({ dryRun: true });
    expect(await dumpAll(f.db)).toEqual(before);
  });

  it('two sweeps fired at once: one runs, the other skips (no error, nothing deleted twice)', async () => {
    const doomed = await Promise.all(['a', 'b', 'c', 'd'].map((x) => closedInvestigation(f, `${x}.race@example.com`)));
    f.clock.advance(31 * DAY);
    const reports = await Promise.all([f.compliance.retention.run(), f.compliance.retention.run()]);
    const ran = reports.filter((r) => !r.skipped);
    const skipped = reports.filter((r) => r.skipped);
    expect(ran).toHaveLength(1);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.skipped!.reason).toBe('another sweep is running');
    expect(skipped[0]!.kinds).toEqual([]);
    expect(ran[0]!.kinds.find((k) => k.kind === 'investigations.closed')).toMatchObject({ deleted: doomed.length });
    for (const d of doomed) expect(await exists(f, d.id)).toBe(false);
    // The lease was given back: the next sweep runs.
    expect((await f.compliance.retention.run()).skipped).toBeUndefined();
  });
});
