import type { Observations, StepOutput } from '../../shared/agent/analyse.js';
import { answerQuestion } from '../../shared/agent/answers.js';
import type { LinkRow, UsageRow, VoiceUserRow } from '../../shared/agent/steps.js';
import { redactText } from '../../shared/platform/redact.js';

const out = <R>(step: string, rows: R[]): StepOutput<R> => ({ rows, cite: (row_keys) => ({ step, sql_hash: '0'.repeat(64), params: {}, row_keys }) });
const obs = (o: Partial<Observations>): Observations => ({ accounts: ['u1'], windowDays: 30, historyDays: 365, ...o });
const user = (user_id: string, requests: number, account_status = 'active'): VoiceUserRow => ({
  voice_id: 'voice_x', owner_user_id: 'u1', user_id, account_status, requests, characters: requests * 100, first_used: '2026-02-01T00:00:00.000Z', last_used: '2026-02-02T00:00:00.000Z',
});
const link = (linked_user_id: string, link_type: 'card' | 'device' | 'ip', linked_status = 'active'): LinkRow => ({
  subject_user_id: 'u1', linked_user_id, link_type, shared_identifiers: 1, linked_status, linked_created_at: '2025-01-01T00:00:00.000Z',
});
const days = (values: number[]): UsageRow[] =>
  values.map((characters, i) => ({ user_id: 'u1', usage_date: `2026-02-${String(i + 1).padStart(2, '0')}`, requests: 1, characters, api_requests: 0, voices: 1, max_moderation_score: 0.1 }));

describe('answers to the question', () => {
  it('lists who used a voice, busiest first, naming the owner and enforced accounts', () => {
    const [a] = answerQuestion(['voice_users'], obs({ voiceUsers: out('voice_users', [user('u1', 3), user('u2', 10, 'banned'), user('u3', 1)]) }));
    expect(a!.text).toBe(
      'Voice voice_x (owned by u1) was used by 3 accounts in the last 30 days (2 besides the owner): u2 (banned, 10 requests, 1,000 characters); u1 (owner, 3 requests, 300 characters); u3 (1 request, 100 characters). 1 of them is banned or suspended.',
    );
    expect(a!.evidence[0]!.row_keys).toEqual(['voice_x|u1', 'voice_x|u2', 'voice_x|u3']);
  });

  it('says no one used the voice rather than inventing anything', () => {
    expect(answerQuestion(['voice_users'], obs({ voiceUsers: out('voice_users', []) }))).toEqual([{ topic: 'voice_users', text: 'No account used the voice(s) in the last 30 days.', evidence: [] }]);
  });

  it('answers a card question with card links only', () => {
    const linked = out('linked_accounts', [link('u2', 'card', 'banned'), link('u3', 'ip')]);
    const [a] = answerQuestion(['linked_card'], obs({ linked }));
    expect(a).toMatchObject({ topic: 'linked_card', text: '1 other account shares a payment card with u1 in the last 365 days: u2 (banned).' });
    expect(a!.evidence[0]!.row_keys).toEqual(['u1|u2|card']);
    expect(answerQuestion(['linked_device'], obs({ linked }))[0]!.text).toBe('No other account shares a login device with u1 in the last 365 days.');
  });

  it('answers a spike question yes or no within the asked period', () => {
    const usage = out('usage_summary', days([5_000, 6_000, 4_000, 5_500, 6_500, 1_000_000, 5_000]));
    expect(answerQuestion(['usage_spike'], obs({ usage, usageFocusSince: '2026-02-05' }))[0]!.text).toMatch(/^Yes: u1 synthesised 1,000,000 characters on 2026-02-06, 190x its baseline of 5,250 a day/);
    expect(answerQuestion(['usage_spike'], obs({ usage, usageFocusSince: '2026-02-07' }))[0]!.text).toBe(
      "No: u1's busiest day since 2026-02-07 was 2026-02-07 with 5,000 characters, not a spike against its own baseline.",
    );
    expect(answerQuestion(['usage_spike'], obs({ usage, usageFocusSince: '2026-02-20' }))[0]!.text).toBe('No: u1 has no usage since 2026-02-20.');
  });

  it('answers nothing the question did not ask, and never with personal data', () => {
    const all = obs({ voiceUsers: out('voice_users', [user('u2', 1)]), linked: out('linked_accounts', [link('u2', 'ip')]), usage: out('usage_summary', days([1, 2])) });
    expect(answerQuestion([], all)).toEqual([]);
    expect(answerQuestion(['moderation'], all)).toEqual([]);
    for (const a of answerQuestion(['voice_users', 'linked', 'usage_spike'], all)) expect(redactText(a.text)).toBe(a.text);
  });
});
