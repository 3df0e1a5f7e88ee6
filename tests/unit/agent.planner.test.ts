import { HISTORY_DAYS, planInvestigation, uncheckedPatterns } from '../../shared/agent/planner.js';
import { SUBJECT_TYPES } from '../../shared/agent/model.js';
import { STEPS } from '../../shared/agent/steps.js';

const FULL = ['account_profile', 'usage_summary', 'moderation_history', 'linked_accounts', 'ban_evasion_check', 'owned_voices', 'payment_history'];
const names = (p: { steps: { name: string }[] }) => p.steps.map((s) => s.name);

describe('investigation planner without a question', () => {
  it('plans resolution for the subject type, then every pattern check in a fixed order', () => {
    const plan = planInvestigation({ subject: { type: 'email', value: 'someone@example.com' }, windowDays: 30 });
    expect(names(plan)).toEqual(['resolve_email', ...FULL]);
    expect(plan.steps.map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(plan).toMatchObject({ planner: 'deterministic', scope: 'full', intents: [] });
    expect(uncheckedPatterns(plan.steps)).toEqual([]);
  });

  it('says why every step is there and which pattern it checks', () => {
    const plan = planInvestigation({ subject: { type: 'email', value: 'someone@example.com' }, windowDays: 30 });
    for (const s of plan.steps) expect(s.reason.length).toBeGreaterThan(10);
    const checks = Object.fromEntries(plan.steps.map((s) => [s.name, s.checks]));
    expect(checks).toMatchObject({ usage_summary: ['usage_anomaly'], ban_evasion_check: ['ban_evasion'], payment_history: ['payment_risk'], owned_voices: ['impersonation'] });
  });

  it.each(SUBJECT_TYPES)('resolves a %s subject with its own step', (type) => {
    const [first] = planInvestigation({ subject: { type, value: 'v-1' }, windowDays: 7 }).steps;
    expect(first!.name).toBe(`resolve_${type}`);
    expect(first!.args).toEqual({ value: 'v-1', lookback_days: HISTORY_DAYS, window_days: 7 });
  });

  it('adds who used the voice when the subject is a voice', () => {
    const plan = planInvestigation({ subject: { type: 'voice_id', value: 'voice_x' }, windowDays: 30 });
    expect(names(plan)).toEqual(['resolve_voice_id', 'account_profile', 'usage_summary', 'moderation_history', 'linked_accounts', 'ban_evasion_check', 'owned_voices', 'voice_users', 'payment_history']);
    expect(plan.steps.find((s) => s.name === 'voice_users')!.args).toEqual({ window_days: 30, voice_id: 'voice_x' });
  });

  it('gives usage steps the requested window and history steps the history lookback', () => {
    const plan = planInvestigation({ subject: { type: 'user_id', value: 'u1' }, windowDays: 14 });
    const args = Object.fromEntries(plan.steps.map((s) => [s.name, s.args]));
    expect(args.usage_summary).toEqual({ window_days: 14 });
    expect(args.owned_voices).toEqual({ window_days: 14 });
    expect(args.moderation_history).toEqual({ lookback_days: HISTORY_DAYS });
    expect(args.linked_accounts).toEqual({ lookback_days: HISTORY_DAYS });
    expect(args.ban_evasion_check).toEqual({ lookback_days: HISTORY_DAYS });
    expect(args.payment_history).toEqual({ lookback_days: HISTORY_DAYS });
    expect(args.account_profile).toEqual({});
  });

  it('rejects an invalid request', () => {
    expect(() => planInvestigation({ subject: { type: 'phone' as never, value: 'x' }, windowDays: 30 })).toThrow();
    expect(() => planInvestigation({ subject: { type: 'email', value: 'a@b.co' }, windowDays: 0 })).toThrow();
  });
});

describe('investigation planner with a question', () => {
  it('"who is using voice v_123" → resolve the voice, then its users', () => {
    const plan = planInvestigation({ subject: { type: 'voice_id', value: 'v_123' }, question: 'who is using voice v_123', windowDays: 30 });
    expect(names(plan)).toEqual(['resolve_voice_id', 'account_profile', 'owned_voices', 'voice_users']);
    expect(plan.scope).toBe('focused');
    expect(plan.intents).toEqual(['voice_users']);
    const users = plan.steps.find((s) => s.name === 'voice_users')!;
    expect(users.args).toEqual({ window_days: 30, voice_id: 'v_123' });
    expect(users.reason).toMatch(/who uses a voice.*v_123/);
    expect(uncheckedPatterns(plan.steps)).toEqual(['usage_anomaly', 'moderation_history', 'linked_accounts', 'ban_evasion', 'payment_risk']);
  });

  it('"accounts sharing a card with x@y.com" → resolve the email, then linked accounts', () => {
    const plan = planInvestigation({ subject: { type: 'email', value: 'x@y.com' }, question: 'accounts sharing a card with x@y.com', windowDays: 30 });
    expect(names(plan)).toEqual(['resolve_email', 'account_profile', 'linked_accounts', 'ban_evasion_check']);
    expect(plan.intents).toEqual(['linked_card']);
    expect(plan.steps[2]!.reason).toMatch(/sharing a payment card/);
  });

  it('"did usage spike last week" → usage with a 7-day focus over a longer baseline', () => {
    const plan = planInvestigation({ subject: { type: 'user_id', value: 'u1' }, question: 'did usage spike last week?', windowDays: 30 });
    expect(names(plan)).toEqual(['resolve_user_id', 'account_profile', 'usage_summary']);
    const usage = plan.steps[2]!;
    expect(usage.args).toEqual({ window_days: 30, focus_days: 7 });
    expect(usage.reason).toMatch(/last 7 days, baseline over 30/);
    expect(() => STEPS.usage_summary!.args.parse(usage.args)).not.toThrow();
  });

  it('widens a short window so a spike in the asked period still has a baseline', () => {
    const plan = planInvestigation({ subject: { type: 'user_id', value: 'u1' }, question: 'any usage spike in the last 10 days', windowDays: 7 });
    expect(plan.steps[2]!.args).toEqual({ window_days: 24, focus_days: 10 });
  });

  it('runs the full plan for a question that asks for everything or for nothing it recognises', () => {
    for (const question of ['find everything on john@example.com', 'what do you make of this?', '']) {
      const plan = planInvestigation({ subject: { type: 'email', value: 'john@example.com' }, question, windowDays: 30 });
      expect(names(plan)).toEqual(['resolve_email', ...FULL]);
      expect(plan.scope).toBe('full');
    }
  });

  it('combines several asks, in the fixed step order', () => {
    const plan = planInvestigation({ subject: { type: 'email', value: 'a@b.co' }, question: 'any chargebacks or moderation flags?', windowDays: 30 });
    expect(names(plan)).toEqual(['resolve_email', 'account_profile', 'moderation_history', 'payment_history']);
  });

  it('is deterministic and plans only steps whose arguments validate', () => {
    const request = { subject: { type: 'ip' as const, value: '203.0.113.9' }, windowDays: 30, question: 'who else shares this IP? did usage spike last month?' };
    const a = planInvestigation(request);
    expect(planInvestigation(request)).toEqual(a);
    for (const step of a.steps) expect(() => STEPS[step.name]!.args.parse(step.args)).not.toThrow();
  });
});
