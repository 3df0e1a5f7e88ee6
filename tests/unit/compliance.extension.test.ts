import { addMonths, planExtension } from '../../shared/compliance/erasure/extension.js';
import type { ErasureDoc } from '../../shared/compliance/erasure/model.js';
import { dueFlag, presentErasure } from '../../shared/compliance/erasure/model.js';

function request(patch: Partial<ErasureDoc> = {}): ErasureDoc {
  return {
    id: 'era_1',
    subject_index: 'idx',
    subject_type: 'email',
    status: 'requested',
    requested_by: 'compliance@example.com',
    requested_at: '2026-01-31T09:00:00.000Z',
    due_at: '2026-02-28T09:00:00.000Z',
    updated_at: '2026-01-31T09:00:00.000Z',
    blocked_by: [],
    attempts: 0,
    completed_at: null,
    receipt: null,
    history: [{ at: '2026-01-31T09:00:00.000Z', from: null, to: 'requested', note: null }],
    ...patch,
  };
}
const REASON = 'Subject holds 40 linked accounts across three products.';
const now = new Date('2026-02-10T12:00:00.000Z');

describe('erasure deadline extension (GDPR art. 12(3))', () => {
  it('adds calendar months, clamped to the month end', () => {
    expect(addMonths(new Date('2026-02-28T09:00:00Z'), 2).toISOString()).toBe('2026-04-28T09:00:00.000Z');
    expect(addMonths(new Date('2025-12-31T00:00:00Z'), 2).toISOString()).toBe('2026-02-28T00:00:00.000Z');
  });

  it('extends by two months by default; the new deadline becomes due_at, the original is kept, the flags follow', () => {
    const r = planExtension(request(), { reason: REASON, subject_informed: true }, 'compliance@example.com', now);
    if (!r.ok) throw new Error('expected an extension');
    expect(r.next.due_at).toBe('2026-04-28T09:00:00.000Z');
    expect(r.next.extension).toEqual({
      original_due_at: '2026-02-28T09:00:00.000Z',
      extended_until: '2026-04-28T09:00:00.000Z',
      reason: REASON,
      extended_by: 'compliance@example.com',
      extended_at: now.toISOString(),
      subject_informed: true,
    });
    expect(r.next.history.at(-1)).toMatchObject({ from: 'requested', to: 'requested', note: 'deadline extended to 2026-04-28T09:00:00.000Z' });
    // Three weeks before the original deadline it was not due soon; a week before it, still not, once extended.
    expect(dueFlag(r.next.status, r.next.due_at, new Date('2026-02-25T00:00:00Z')).flag).toBeNull();
    expect(presentErasure(r.next, now)).toMatchObject({ due_at: '2026-04-28T09:00:00.000Z', original_due_at: '2026-02-28T09:00:00.000Z', extension: { reason: REASON } });
  });

  it('accepts a shorter extension, but not one past two months or not after the original deadline', () => {
    const shorter = planExtension(request(), { reason: REASON, subject_informed: true, extended_until: '2026-03-31T09:00:00.000Z' }, 'c@example.com', now);
    expect(shorter.ok && shorter.next.due_at).toBe('2026-03-31T09:00:00.000Z');
    for (const extended_until of ['2026-04-28T09:00:00.001Z', '2026-02-28T09:00:00.000Z', '2026-02-20T00:00:00.000Z']) {
      expect(planExtension(request(), { reason: REASON, subject_informed: true, extended_until }, 'c@example.com', now)).toMatchObject({ ok: false, refusal: { code: 'out-of-range' } });
    }
  });

  it('refuses a second extension, a completed request and one decided after the original deadline', () => {
    const once = planExtension(request(), { reason: REASON, subject_informed: true }, 'c@example.com', now);
    if (!once.ok) throw new Error('expected an extension');
    expect(planExtension(once.next, { reason: REASON, subject_informed: true }, 'c@example.com', now)).toMatchObject({ ok: false, refusal: { code: 'already-extended' } });
    expect(planExtension(request({ status: 'completed' }), { reason: REASON, subject_informed: true }, 'c@example.com', now)).toMatchObject({ ok: false, refusal: { code: 'completed' } });
    expect(planExtension(request(), { reason: REASON, subject_informed: true }, 'c@example.com', new Date('2026-02-28T09:00:00.000Z'))).toMatchObject({ ok: false, refusal: { code: 'too-late' } });
  });

  it('presents a request that was never extended with its original deadline and no extension', () => {
    expect(presentErasure(request(), now)).toMatchObject({ due_at: '2026-02-28T09:00:00.000Z', original_due_at: '2026-02-28T09:00:00.000Z', extension: null });
  });
});
