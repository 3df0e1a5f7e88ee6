import { maskParams, maskSubject, maskValue } from '../../shared/agent/mask.js';
import { STEPS, stepInfo } from '../../shared/agent/steps.js';
import { columnSpec, piiColumns } from '../../shared/warehouse/contract.js';
import { describeSql } from '../../shared/guard/describe.js';

describe('PII masking', () => {
  it('masks by the contract column a parameter is bound to', () => {
    const masked = maskParams(
      { email: 'jane.doe@example.com', ip: '203.0.113.9', card: 'fp_abcdef123456', ids: ['usr_1', 'usr_2'], since: new Date('2026-01-01T00:00:00Z'), n: 5 },
      { email: 'dim_users.email', ip: 'fct_logins.ip', card: 'fct_payments.card_fingerprint', ids: 'dim_users.user_id', since: 'fct_logins.login_ts', n: 'fct_tts_usage.characters' },
    );
    expect(masked).toEqual({ email: 'j***@example.com', ip: '203.0.*.*', card: 'fp_a****', ids: ['usr_1', 'usr_2'], since: '2026-01-01T00:00:00.000Z', n: 5 });
  });

  it('masks IPv6, free text, and personal data hidden in unbound parameters', () => {
    expect(maskValue('ip', '2001:db8:1:2::7')).toBe('2001:db8:****');
    expect(maskValue('text', 'anything at all')).toBe('[PII]');
    expect(maskParams({ note: 'ask bob@example.com at 10.1.2.3' }, {})).toEqual({ note: 'ask [PII] at [PII]' });
  });

  it('masks a subject according to its type', () => {
    expect(maskSubject({ type: 'email', value: 'jane@example.com' })).toBe('j***@example.com');
    expect(maskSubject({ type: 'card_fingerprint', value: 'fp_demo_ring_card_0001' })).toBe('fp_d****');
    expect(maskSubject({ type: 'ip', value: '198.51.100.23' })).toBe('198.51.*.*');
    expect(maskSubject({ type: 'user_id', value: 'usr_1' })).toBe('usr_1');
    expect(maskSubject({ type: 'voice_id', value: 'voice_1' })).toBe('voice_1');
  });

  it('binds every parameter of every step to a contract column, and only resolution steps take personal data', () => {
    for (const step of Object.values(STEPS)) {
      const params = describeSql(step.sql).params;
      expect(Object.keys(step.paramColumns).sort()).toEqual([...params].sort());
      for (const ref of Object.values(step.paramColumns)) expect(() => columnSpec(ref)).not.toThrow();
      if (stepInfo(step).piiParams) expect(step.needsAccounts).toBe(false);
    }
  });

  it('knows the contract personal-data columns', () => {
    expect(piiColumns()).toEqual(
      expect.arrayContaining(['dim_users.email', 'dim_users.signup_ip', 'fct_tts_usage.ip', 'fct_logins.device_fingerprint', 'fct_payments.card_fingerprint', 'fct_moderation_flags.excerpt']),
    );
    expect(piiColumns()).not.toContain('dim_users.user_id');
  });
});
