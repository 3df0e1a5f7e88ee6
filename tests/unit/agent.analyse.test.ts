import { analyse, spikeDays, THRESHOLDS, type Observations, type StepOutput } from '../../shared/agent/analyse.js';
import type { BanEvasionRow, FlagRow, LinkRow, PaymentRow, ProfileRow, UsageRow, VoiceRow } from '../../shared/agent/steps.js';
import { redactText } from '../../shared/platform/redact.js';

const out = <R>(step: string, rows: R[]): StepOutput<R> => ({
  rows,
  cite: (row_keys) => ({ step, sql_hash: '0'.repeat(64), params: {}, row_keys }),
});
const obs = (o: Partial<Observations>): Observations => ({ accounts: ['u1'], windowDays: 30, historyDays: 365, ...o });
const profile = (user_id: string, created_at: string, account_status = 'active'): ProfileRow => ({ user_id, created_at, country: 'US', plan: 'pro', account_status, identity_verified: false });
const flag = (flag_id: string, category: string, severity: string, source = 'classifier'): FlagRow => ({
  flag_id, user_id: 'u1', flagged_at: '2026-02-01T00:00:00.000Z', category, severity, source, action_taken: null, request_id: null, voice_id: null,
});
const link = (linked_user_id: string, link_type: 'card' | 'device' | 'ip', linked_status: string, linked_created_at = '2025-01-01T00:00:00.000Z'): LinkRow => ({
  subject_user_id: 'u1', linked_user_id, link_type, shared_identifiers: 1, linked_status, linked_created_at,
});
const days = (values: number[]): UsageRow[] =>
  values.map((characters, i) => ({ user_id: 'u1', usage_date: `2026-02-${String(i + 1).padStart(2, '0')}`, requests: 1, characters, api_requests: 0, voices: 1, max_moderation_score: 0.1 }));
const pay = (payment_id: string, status: string, card_country: string | null, card_no = 1): PaymentRow => ({
  payment_id, user_id: 'u1', payment_ts: '2026-02-01T00:00:00.000Z', status, card_country, amount_usd: 10, card_no,
});

describe('usage anomalies', () => {
  it('flags a day far above the median of the account\'s other active days', () => {
    const spikes = spikeDays(days([5_000, 6_000, 4_000, 5_500, 6_500, 1_000_000]));
    expect(spikes).toHaveLength(1);
    expect(spikes[0]).toMatchObject({ usage_date: '2026-02-06', baseline: 5_500, baselineDays: 5 });
  });

  it('does not flag steady heavy use, small absolute jumps, or accounts without enough baseline', () => {
    expect(spikeDays(days([300_000, 250_000, 350_000, 280_000, 320_000, 500_000]))).toEqual([]);
    expect(spikeDays(days([100, 120, 90, 110, 100, 4_000]))).toEqual([]); // 40x, but under the minimum characters
    expect(spikeDays(days([5_000, 5_000, 5_000, 5_000, 1_000_000]))).toEqual([]); // only 4 other days
    expect(THRESHOLDS.spikeMinBaselineDays).toBe(5);
  });

  it('reports spikes as one finding per account citing exactly the spike days', () => {
    const [finding] = analyse(obs({ usage: out('usage_summary', days([5_000, 6_000, 4_000, 5_500, 6_500, 1_000_000, 900_000])) }));
    expect(finding).toMatchObject({ type: 'usage_anomaly', severity: 'high', escalate: false });
    expect(finding!.evidence[0]!.row_keys).toEqual(['u1|2026-02-06', 'u1|2026-02-07']);
    expect(finding!.signals).toEqual([expect.objectContaining({ signal: 'usage_spike', count: 2 })]);
  });

  it('reports only spikes inside the period a question asked about, judged against the whole window', () => {
    const usage = out('usage_summary', days([5_000, 6_000, 4_000, 5_500, 6_500, 1_000_000, 5_000, 5_200]));
    expect(analyse(obs({ usage, usageFocusSince: '2026-02-07' }))).toEqual([]);
    const [finding] = analyse(obs({ usage, usageFocusSince: '2026-02-06' }));
    expect(finding!.evidence[0]!.row_keys).toEqual(['u1|2026-02-06']);
  });
});

describe('moderation history', () => {
  it.each([
    ['a sexual_minors flag of any severity', [flag('f1', 'sexual_minors', 'high', 'user_report')], 'critical', true],
    ['a critical flag in another category', [flag('f1', 'violence', 'critical')], 'critical', true],
    ['many high spam flags', [flag('f1', 'spam', 'high'), flag('f2', 'spam', 'high')], 'high', false],
    ['a single low flag', [flag('f1', 'other', 'low')], 'low', false],
  ])('%s → severity %s, escalate %s', (_what, flags, severity, escalate) => {
    const [finding] = analyse(obs({ moderation: out('moderation_history', flags) }));
    expect(finding).toMatchObject({ type: 'moderation_history', severity, escalate });
    expect(finding!.evidence[0]!.row_keys).toEqual(flags.map((f) => f.flag_id));
  });

  it('makes no finding without flags', () => {
    expect(analyse(obs({ moderation: out('moderation_history', []) }))).toEqual([]);
  });
});

describe('linked accounts and ban evasion', () => {
  const subject = out('account_profile', [profile('u1', '2026-01-10T00:00:00.000Z')]);

  it('rates links by what is shared and the status of the other accounts', () => {
    const rate = (links: LinkRow[]) => analyse(obs({ linked: out('linked_accounts', links) }))[0]!.severity;
    expect(rate([link('u2', 'ip', 'active')])).toBe('low');
    expect(rate([link('u2', 'device', 'active')])).toBe('medium');
    expect(rate([link('u2', 'ip', 'suspended')])).toBe('high');
  });

  const ban = (banned_user_id: string, link_type: 'card' | 'device' | 'ip'): BanEvasionRow => ({
    subject_user_id: 'u1', subject_created_at: '2026-01-10T00:00:00.000Z', banned_user_id, banned_created_at: '2025-06-01T00:00:00.000Z', link_type, shared_identifiers: 1,
  });

  it('reports ban evasion from the ban_evasion_check rows, citing exactly them', () => {
    const [evasion] = analyse(obs({ banEvasion: out('ban_evasion_check', [ban('u2', 'card'), ban('u2', 'ip'), ban('u3', 'device')]) }));
    expect(evasion).toMatchObject({ type: 'ban_evasion', severity: 'high', confidence: 0.9, escalate: false });
    expect(evasion!.summary).toBe('Account u1 was created on 2026-01-10, after banned accounts u2, u3, and shares a payment card, a login device and an IP address with them.');
    expect(evasion!.evidence.map((e) => [e.step, e.row_keys])).toEqual([['ban_evasion_check', ['u1|u2|card', 'u1|u2|ip', 'u1|u3|device']]]);
    expect(evasion!.signals).toEqual([expect.objectContaining({ signal: 'ban_evasion', count: 2 })]);
  });

  it('trusts a shared IP alone less, and finds no ban evasion without rows or from linked accounts alone', () => {
    expect(analyse(obs({ banEvasion: out('ban_evasion_check', [ban('u2', 'ip')]) }))[0]!.confidence).toBe(0.6);
    expect(analyse(obs({ banEvasion: out('ban_evasion_check', []) }))).toEqual([]);
    const linkedOnly = analyse(obs({ profile: subject, linked: out('linked_accounts', [link('u2', 'card', 'banned', '2025-06-01T00:00:00.000Z')]) }));
    expect(linkedOnly.map((f) => f.type)).toEqual(['linked_accounts']);
  });

  it('reports an account that is already banned or suspended, not an active or deleted one', () => {
    const findings = analyse(obs({ profile: out('account_profile', [profile('u1', '2025-01-01T00:00:00.000Z', 'banned'), profile('u2', '2025-01-01T00:00:00.000Z', 'deleted')]) }));
    expect(findings.map((f) => [f.type, f.evidence[0]!.row_keys])).toEqual([['account_status', ['u1']]]);
  });
});

describe('impersonation', () => {
  const voice = (over: Partial<VoiceRow>): VoiceRow => ({
    voice_id: 'v1', owner_user_id: 'u1', voice_type: 'cloned_instant', verification_status: 'unverified', is_public: false, has_likeness: true, used_by: 'u1', requests: 5, characters: 500, ...over,
  });

  it('flags an unverified or rejected clone with a likeness match, higher when others use it', () => {
    const own = analyse(obs({ voices: out('owned_voices', [voice({})]) }));
    expect(own).toMatchObject([{ type: 'impersonation', severity: 'medium' }]);
    const shared = analyse(obs({ voices: out('owned_voices', [voice({}), voice({ used_by: 'u9', requests: 3 })]) }));
    expect(shared).toMatchObject([{ type: 'impersonation', severity: 'high' }]);
    expect(shared[0]!.evidence[0]!.row_keys).toEqual(['v1|u1', 'v1|u9']);
    expect(analyse(obs({ voices: out('owned_voices', [voice({ verification_status: 'rejected', used_by: null, requests: 0 })]) }))[0]!.title).toMatch(/^Rejected/);
  });

  it('does not flag a verified voice with a likeness match, or a clone without one', () => {
    expect(analyse(obs({ voices: out('owned_voices', [voice({ verification_status: 'verified', is_public: true })]) }))).toEqual([]);
    expect(analyse(obs({ voices: out('owned_voices', [voice({ has_likeness: false })]) }))).toEqual([]);
  });
});

describe('payment risk', () => {
  it('flags chargebacks, many failed attempts and cards from many countries, citing those payments', () => {
    const rows = [pay('p1', 'chargeback', 'US'), pay('p2', 'succeeded', 'US')];
    expect(analyse(obs({ payments: out('payment_history', rows) }))).toMatchObject([{ type: 'payment_risk', severity: 'medium', evidence: [{ row_keys: ['p1'] }] }]);
    const failed = Array.from({ length: THRESHOLDS.failedPaymentsMin }, (_, i) => pay(`f${i}`, 'failed', 'US'));
    expect(analyse(obs({ payments: out('payment_history', failed) }))).toHaveLength(1);
    const countries = [pay('a', 'succeeded', 'US', 1), pay('b', 'succeeded', 'BR', 2), pay('c', 'succeeded', 'VN', 3)];
    expect(analyse(obs({ payments: out('payment_history', countries) }))[0]!.evidence[0]!.row_keys).toEqual(['a', 'b', 'c']);
  });

  it('does not flag ordinary renewals with an occasional failure or refund', () => {
    const rows = [pay('p1', 'succeeded', 'US'), pay('p2', 'failed', 'US'), pay('p3', 'succeeded', 'US'), pay('p4', 'refunded', 'US'), pay('p5', 'succeeded', 'GB', 2)];
    expect(analyse(obs({ payments: out('payment_history', rows) }))).toEqual([]);
  });
});

describe('findings text', () => {
  it('names accounts and voices by id only: no emails, IPs or card fingerprints', () => {
    const findings = analyse(
      obs({
        profile: out('account_profile', [profile('u1', '2026-01-10T00:00:00.000Z', 'suspended')]),
        moderation: out('moderation_history', [flag('f1', 'sexual_minors', 'critical', 'manual')]),
        linked: out('linked_accounts', [link('u2', 'card', 'banned'), link('u3', 'ip', 'active')]),
        payments: out('payment_history', [pay('p1', 'chargeback', 'US')]),
        usage: out('usage_summary', days([5_000, 6_000, 4_000, 5_500, 6_500, 1_000_000])),
      }),
    );
    expect(findings.length).toBeGreaterThanOrEqual(5);
    for (const f of findings) {
      expect(redactText(f.title)).toBe(f.title);
      expect(redactText(f.summary)).toBe(f.summary);
      expect(`${f.title} ${f.summary}`).not.toMatch(/fp_|dev_/);
    }
  });
});
