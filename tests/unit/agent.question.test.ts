import { focusDays, mentions, readQuestion, subjectFromQuestion } from '../../shared/agent/question.js';
import { CreateInvestigationSchema } from '../../shared/investigations/model.js';

describe('reading a question', () => {
  it.each([
    ['who is using voice v_123', ['voice_users']],
    ['Who else uses this voice?', ['voice_users']],
    ['accounts sharing a card with x@y.com', ['linked_card']],
    ['same device as usr_42?', ['linked_device']],
    ['linked accounts and their status', ['linked', 'status']],
    ['is this ban evasion?', ['ban_evasion']],
    ['did usage spike last week', ['usage_spike']],
    ['show usage over time', ['usage']],
    ['any critical moderation flags?', ['moderation']],
    ['chargebacks or card testing?', ['payment']],
    ['is this an unverified clone of a celebrity', ['impersonation']],
    ['find everything on john@example.com', ['everything']],
    ['what do you make of this?', []],
  ])('%s → %j', (question, intents) => {
    expect(readQuestion(question).intents).toEqual(intents);
  });

  it.each([
    ['did usage spike last week', 7],
    ['in the past 3 days', 3],
    ['over the last 2 weeks', 14],
    ['last 48 hours', 2],
    ['this month', 30],
    ['yesterday', 1],
    ['since signup', null],
  ])('%s → %s days', (q, days) => expect(focusDays(q)).toBe(days));
});

describe('subjects named in a question', () => {
  it.each([
    ['who is using voice v_123', { type: 'voice_id', value: 'v_123' }],
    ['who uses voice_demo_likeness?', { type: 'voice_id', value: 'voice_demo_likeness' }],
    ['accounts sharing a card with X@Y.com', { type: 'email', value: 'x@y.com' }],
    ['everything on usr_demo_ring_1.', { type: 'user_id', value: 'usr_demo_ring_1' }],
    ['accounts on 203.0.113.77', { type: 'ip', value: '203.0.113.77' }],
    ['logins from 2001:db8::1 today', { type: 'ip', value: '2001:db8::1' }],
    ['who paid with fp_demo_ring_card_0001', { type: 'card_fingerprint', value: 'fp_demo_ring_card_0001' }],
    ['card fingerprint abcd1234 chargebacks', { type: 'card_fingerprint', value: 'abcd1234' }],
    ['user id 1234abc flags', { type: 'user_id', value: '1234abc' }],
  ])('%s → %j', (q, subject) => expect(subjectFromQuestion(q)).toEqual(subject));

  it('names nothing in a question without an identifier, and takes the first of several', () => {
    expect(subjectFromQuestion('did usage spike last week')).toBeNull();
    expect(subjectFromQuestion('who else uses this voice? the voice was cloned')).toBeNull();
    expect(subjectFromQuestion('is a@b.co linked to usr_9?')).toEqual({ type: 'email', value: 'a@b.co' });
    expect(mentions('is a@b.co linked to usr_9?').map((m) => m.type)).toEqual(['email', 'user_id']);
  });

  it('reads the voice a question names for the planner', () => {
    expect(readQuestion('who is using voice v_123').voiceId).toBe('v_123');
    expect(readQuestion('did usage spike').voiceId).toBeNull();
  });
});

describe('opening an investigation from a question alone', () => {
  it('fills in the subject the question names', () => {
    expect(CreateInvestigationSchema.parse({ question: 'Who is using voice v_123?' })).toMatchObject({ subject: { type: 'voice_id', value: 'v_123' }, question: 'Who is using voice v_123?', window_days: 30 });
    expect(CreateInvestigationSchema.parse({ question: 'accounts sharing a card with X@Y.com' }).subject).toEqual({ type: 'email', value: 'x@y.com' });
  });

  it('keeps an explicit subject over one in the question', () => {
    expect(CreateInvestigationSchema.parse({ subject: { type: 'user_id', value: 'usr_1' }, question: 'does a@b.co share a card?' }).subject).toEqual({ type: 'user_id', value: 'usr_1' });
  });

  it('refuses with a clear message when there is no subject to find', () => {
    const noSubject = CreateInvestigationSchema.safeParse({ question: 'did usage spike last week?' });
    expect(noSubject.success).toBe(false);
    expect(noSubject.error!.issues).toEqual([expect.objectContaining({ path: ['subject'], message: expect.stringMatching(/the question names no subject/) })]);
    expect(CreateInvestigationSchema.safeParse({}).error!.issues[0]!.message).toMatch(/give subject/);
    // A named value that is not a valid subject (an IP-like token that is not an IP) is refused the same way.
    expect(CreateInvestigationSchema.safeParse({ question: 'accounts on 999.1.1.1' }).success).toBe(false);
  });
});
