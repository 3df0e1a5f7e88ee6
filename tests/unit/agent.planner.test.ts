import { HISTORY_DAYS, planInvestigation } from '../../shared/agent/planner.js';
import { SUBJECT_TYPES } from '../../shared/agent/model.js';
import { STEPS } from '../../shared/agent/steps.js';

describe('investigation planner', () => {
  it('plans resolution for the subject type, then every account step in a fixed order', () => {
    const plan = planInvestigation({ subject: { type: 'email', value: 'someone@example.com' }, windowDays: 30 });
    expect(plan.map((s) => s.name)).toEqual(['resolve_email', 'account_profile', 'usage_summary', 'moderation_history', 'linked_accounts', 'owned_voices', 'payment_history']);
    expect(plan.map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it.each(SUBJECT_TYPES)('resolves a %s subject with its own step', (type) => {
    const [first] = planInvestigation({ subject: { type, value: 'v-1' }, windowDays: 7 });
    expect(first!.name).toBe(`resolve_${type}`);
    expect(first!.args).toEqual({ value: 'v-1', lookback_days: HISTORY_DAYS, window_days: 7 });
  });

  it('gives usage steps the requested window and history steps the history lookback', () => {
    const plan = planInvestigation({ subject: { type: 'user_id', value: 'u1' }, windowDays: 14 });
    const args = Object.fromEntries(plan.map((s) => [s.name, s.args]));
    expect(args.usage_summary).toEqual({ window_days: 14 });
    expect(args.owned_voices).toEqual({ window_days: 14 });
    expect(args.moderation_history).toEqual({ lookback_days: HISTORY_DAYS });
    expect(args.linked_accounts).toEqual({ lookback_days: HISTORY_DAYS });
    expect(args.payment_history).toEqual({ lookback_days: HISTORY_DAYS });
    expect(args.account_profile).toEqual({});
  });

  it('is deterministic, ignores the question for planning, and plans only steps whose arguments validate', () => {
    const a = planInvestigation({ subject: { type: 'ip', value: '203.0.113.9' }, windowDays: 30, question: 'who else uses this IP?' });
    const b = planInvestigation({ subject: { type: 'ip', value: '203.0.113.9' }, windowDays: 30 });
    expect(a).toEqual(b);
    for (const step of a) expect(() => STEPS[step.name]!.args.parse(step.args)).not.toThrow();
  });

  it('rejects an invalid request', () => {
    expect(() => planInvestigation({ subject: { type: 'phone' as never, value: 'x' }, windowDays: 30 })).toThrow();
    expect(() => planInvestigation({ subject: { type: 'email', value: 'a@b.co' }, windowDays: 0 })).toThrow();
  });
});
