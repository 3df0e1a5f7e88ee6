import { anonymisedInvestigation, collectTokens, replaceTokens } from '../../shared/compliance/anonymise.js';
import { dueDate, dueFlag, erasureTransition } from '../../shared/compliance/erasure/model.js';
import { CreateHoldSchema, holdsCovering, type HoldDoc, type InvestigationFacts } from '../../shared/compliance/holds/model.js';
import { decide, isExpired } from '../../shared/compliance/retention/plan.js';
import { DEFAULT_POLICIES, applyPolicyChange, type Policy } from '../../shared/compliance/retention/policy.js';
import { idBoundary } from '../../shared/compliance/retention/sweep.js';

const AT = '2026-05-01T00:00:00.000Z';

describe('retention policy lock rule', () => {
  const locked: Policy = { ...DEFAULT_POLICIES['investigations.closed'], days: 365, locked: true };
  it('lets an unlocked policy change freely and lock itself', () => {
    const r = applyPolicyChange(DEFAULT_POLICIES['investigations.closed'], { kind: 'investigations.closed', days: 10, locked: true }, 'c@x', AT);
    expect(r).toMatchObject({ ok: true, changed: true, next: { days: 10, locked: true, updated_by: 'c@x', updated_at: AT } });
  });
  it('lengthens a locked policy but never shortens, unlocks or changes its action', () => {
    expect(applyPolicyChange(locked, { kind: locked.kind, days: 400 }, 'c', AT)).toMatchObject({ ok: true, next: { days: 400, locked: true } });
    expect(applyPolicyChange(locked, { kind: locked.kind, days: 364 }, 'c', AT)).toMatchObject({ ok: false, code: 'locked' });
    expect(applyPolicyChange(locked, { kind: locked.kind, locked: false }, 'c', AT)).toMatchObject({ ok: false, code: 'locked' });
    expect(applyPolicyChange(locked, { kind: locked.kind, action: 'anonymise' }, 'c', AT)).toMatchObject({ ok: false, code: 'locked' });
  });
  it('refuses actions a kind does not support', () => {
    expect(applyPolicyChange(DEFAULT_POLICIES.comments, { kind: 'comments', action: 'anonymise' }, 'c', AT)).toMatchObject({ ok: false, code: 'invalid' });
  });
  it('reports an identical change as unchanged', () => {
    expect(applyPolicyChange(locked, { kind: locked.kind, days: 365 }, 'c', AT)).toMatchObject({ ok: true, changed: false });
  });
});

describe('hold matching', () => {
  const inv: InvestigationFacts = { id: 'inv_1', subject_index: 'idxA', subject_type: 'email', created_by: 'a@x.com', team: 'trust', status: 'closed', created_at: '2026-02-01T00:00:00.000Z' };
  const hold = (target: HoldDoc['target'], state: HoldDoc['state'] = 'active'): HoldDoc => ({
    id: `hold_${Math.random().toString(36).slice(2)}`,
    state,
    target,
    reason: 'r',
    matter: 'm',
    placed_by: 'c',
    placed_at: AT,
    released_by: null,
    released_at: null,
    release_reason: null,
  });
  it('matches by investigation, by subject index and by query; released holds never match', () => {
    const byId = hold({ kind: 'investigation', investigation_id: 'inv_1' });
    const bySubject = hold({ kind: 'subject', subject_index: 'idxA', subject_type: 'email', display: 'x' });
    const byQuery = hold({ kind: 'query', query: { team: 'trust', created_after: '2026-01-01T00:00:00.000Z' } });
    const other = hold({ kind: 'query', query: { team: 'fraud' } });
    const released = hold({ kind: 'investigation', investigation_id: 'inv_1' }, 'released');
    const all = [byId, bySubject, byQuery, other, released];
    expect(holdsCovering({ kind: 'investigation', investigation: inv }, all).map((h) => h.id)).toEqual([byId.id, bySubject.id, byQuery.id]);
    expect(holdsCovering({ kind: 'subject', subject_index: 'idxA' }, all)).toEqual([bySubject]);
    expect(holdsCovering({ kind: 'subject', subject_index: 'idxB' }, all)).toEqual([]);
    expect(holdsCovering({ kind: 'investigation', investigation: { ...inv, created_at: '2025-12-31T00:00:00.000Z', id: 'inv_2', subject_index: null } }, [byQuery])).toEqual([]);
  });
  it('needs exactly one target, a reason and a matter', () => {
    const base = { reason: 'r', matter: 'M-1' };
    expect(CreateHoldSchema.safeParse({ ...base, investigation_id: 'inv_1' }).success).toBe(true);
    expect(CreateHoldSchema.safeParse({ ...base }).success).toBe(false);
    expect(CreateHoldSchema.safeParse({ ...base, investigation_id: 'inv_1', query: { team: 't' } }).success).toBe(false);
    expect(CreateHoldSchema.safeParse({ investigation_id: 'inv_1', matter: 'M' }).success).toBe(false);
    expect(CreateHoldSchema.safeParse({ ...base, query: {} }).success).toBe(false);
  });
});

describe('sweep planning', () => {
  const now = new Date('2026-03-01T00:00:00Z');
  const policy = { days: 30, action: 'delete' };
  const c = (anchor: string, extra = {}) => ({ anchor, expireAt: null, eligible: true, heldBy: [], ...extra });
  it('deletes what is past retention, stamps what ends within a week, leaves the rest', () => {
    expect(decide(c('2026-01-15T00:00:00Z'), policy, now)).toEqual({ do: 'delete' });
    expect(decide(c('2026-02-03T00:00:00Z'), policy, now)).toEqual({ do: 'stamp', expireAt: '2026-03-05T00:00:00.000Z' });
    expect(decide(c('2026-02-03T00:00:00Z', { expireAt: '2026-03-05T00:00:00.000Z' }), policy, now)).toEqual({ do: 'none' });
    expect(decide(c('2026-02-20T00:00:00Z'), policy, now)).toEqual({ do: 'none' });
  });
  it('keeps held records and takes any TTL stamp off them', () => {
    expect(decide(c('2026-01-15T00:00:00Z', { heldBy: ['hold_1'], expireAt: '2026-02-14T00:00:00.000Z' }), policy, now)).toEqual({ do: 'blocked', holds: ['hold_1'], unstamp: true });
    expect(decide(c('2026-02-03T00:00:00Z', { heldBy: ['hold_1'], expireAt: '2026-03-05T00:00:00.000Z' }), policy, now)).toEqual({ do: 'unstamp' });
  });
  it('anonymises once, and never stamps TTL for an anonymise policy; ineligible records lose stale stamps', () => {
    const anon = { days: 30, action: 'anonymise' };
    expect(decide(c('2026-01-15T00:00:00Z'), anon, now)).toEqual({ do: 'anonymise' });
    expect(decide(c('2026-01-15T00:00:00Z', { anonymised: true }), anon, now)).toEqual({ do: 'none' });
    expect(decide(c('2026-02-03T00:00:00Z'), anon, now)).toEqual({ do: 'none' });
    expect(decide(c('2026-01-15T00:00:00Z', { eligible: false, expireAt: AT }), policy, now)).toEqual({ do: 'unstamp' });
  });
  it('treats a passed TTL stamp as expired at read time', () => {
    expect(isExpired({ expire_at: new Date('2026-02-28T00:00:00Z') }, now)).toBe(true);
    expect(isExpired({ expire_at: new Date('2026-03-02T00:00:00Z') }, now)).toBe(false);
    expect(isExpired({}, now)).toBe(false);
  });
  it('bounds ids by creation time', () => {
    expect(idBoundary('inv', Date.parse('2026-01-01T00:00:00Z')) < idBoundary('inv', Date.parse('2026-01-01T00:00:00.001Z'))).toBe(true);
  });
});

describe('erasure requests', () => {
  it('moves requested → blocked/running → completed, and completed is final', () => {
    expect(erasureTransition('requested', 'block')).toBe('blocked');
    expect(erasureTransition('blocked', 'start')).toBe('running');
    expect(erasureTransition('running', 'block')).toBe('blocked');
    expect(erasureTransition('running', 'complete')).toBe('completed');
    expect(erasureTransition('requested', 'complete')).toBeNull();
    expect(erasureTransition('completed', 'start')).toBeNull();
    expect(erasureTransition('completed', 'block')).toBeNull();
  });
  it('is due one calendar month out, clamped to the end of a shorter month', () => {
    expect(dueDate(new Date('2026-03-15T10:00:00Z')).toISOString()).toBe('2026-04-15T10:00:00.000Z');
    expect(dueDate(new Date('2026-01-31T10:00:00Z')).toISOString()).toBe('2026-02-28T10:00:00.000Z');
    expect(dueDate(new Date('2026-12-20T00:00:00Z')).toISOString()).toBe('2027-01-20T00:00:00.000Z');
  });
  it('flags open requests within seven days of due, overdue past it, never completed ones', () => {
    const due = '2026-04-15T00:00:00.000Z';
    expect(dueFlag('requested', due, new Date('2026-04-01T00:00:00Z')).flag).toBeNull();
    expect(dueFlag('blocked', due, new Date('2026-04-08T00:00:00Z')).flag).toBe('due_soon');
    expect(dueFlag('requested', due, new Date('2026-04-16T00:00:00Z')).flag).toBe('overdue');
    expect(dueFlag('completed', due, new Date('2026-04-16T00:00:00Z')).flag).toBeNull();
  });
});

describe('mention rewriting', () => {
  it('finds identifier tokens in nested values and replaces only the hits', () => {
    const value = { summary: 'Linked to john@x.com, and u_1.', list: ['ip 10.0.0.1:'], n: 3 };
    const tokens = collectTokens(value, new Set());
    expect(tokens).toEqual(expect.objectContaining({}));
    expect([...tokens]).toEqual(expect.arrayContaining(['john@x.com', 'u_1', '10.0.0.1']));
    const { value: out, replaced } = replaceTokens(value, new Set(['john@x.com', '10.0.0.1']));
    expect(out).toEqual({ summary: 'Linked to [erased], and u_1.', list: ['ip [erased]:'], n: 3 });
    expect(replaced).toBe(2);
  });
});

describe('anonymising an investigation', () => {
  it('empties every result field, including the plan and the direct answers', () => {
    const completed = {
      id: 'inv_1',
      status: 'closed',
      subject: { type: 'email', value: 'jane@example.com' },
      question: 'did usage spike last week',
      steps: [{ name: 'usage_summary' }],
      findings: [{ title: 'Usage spike' }],
      risk: { score: 15 },
      recommended_action: { action: 'monitor' },
      summary: 'usr_1 spiked',
      resolved_accounts: ['usr_1'],
      usage_timeline: { days: [] },
      linked_accounts: { items: [], omitted: 0 },
      plan: { planner: 'deterministic', scope: 'focused', intents: ['usage_spike'] },
      answers: [{ topic: 'usage_spike', text: 'Yes: usr_1 synthesised 1,491,126 characters.', evidence: [] }],
      decision: { outcome: 'no_action', rationale: 'usr_1 is a studio' },
    };
    const out = anonymisedInvestigation(completed, new Date(AT), 'retention');
    expect(out).toMatchObject({ id: 'inv_1', status: 'closed', question: null, steps: [], findings: [], risk: null, recommended_action: null, summary: null, resolved_accounts: [], usage_timeline: null, linked_accounts: null, plan: null, answers: null });
    expect(JSON.stringify(out)).not.toMatch(/usr_1|jane@example\.com/);
  });
});
