import { startTestStack, type TestStack } from './harness.js';

let stack: TestStack;
let analyst: string;

beforeAll(async () => {
  stack = await startTestStack({ TSI_MAX_BODY_BYTES: '4096' });
  analyst = await stack.token('analyst@example.com');
});
afterAll(async () => {
  await stack.destroy();
});

const valid = { subject: { type: 'email', value: 'clean.user@example.com' } };

describe('bad input is a 400 problem+json naming the field, never a 500', () => {
  const cases: [string, unknown, string][] = [
    ['missing subject', {}, 'body.subject'],
    ['subject not an object', { subject: 'john@example.com' }, 'body.subject'],
    ['unknown subject type', { subject: { type: 'phone', value: '123' } }, 'body.subject.type'],
    ['missing subject value', { subject: { type: 'email' } }, 'body.subject.value'],
    ['empty subject value', { subject: { type: 'email', value: '' } }, 'body.subject.value'],
    ['bad email', { subject: { type: 'email', value: 'not-an-email' } }, 'body.subject.value'],
    ['bad ip', { subject: { type: 'ip', value: '999.1.1.1' } }, 'body.subject.value'],
    ['bad user id', { subject: { type: 'user_id', value: 'drop table;' } }, 'body.subject.value'],
    ['bad voice id', { subject: { type: 'voice_id', value: 'v 1' } }, 'body.subject.value'],
    ['bad card fingerprint', { subject: { type: 'card_fingerprint', value: '!' } }, 'body.subject.value'],
    ['extra subject field', { subject: { ...valid.subject, extra: 1 } }, 'body.subject'],
    ['question not a string', { ...valid, question: 42 }, 'body.question'],
    ['question empty', { ...valid, question: '   ' }, 'body.question'],
    ['question too long', { ...valid, question: 'x'.repeat(2001) }, 'body.question'],
    ['window_days zero', { ...valid, window_days: 0 }, 'body.window_days'],
    ['window_days above 90', { ...valid, window_days: 91 }, 'body.window_days'],
    ['window_days fractional', { ...valid, window_days: 1.5 }, 'body.window_days'],
    ['window_days a string', { ...valid, window_days: '30' }, 'body.window_days'],
    ['unknown sensitivity', { ...valid, sensitivity: 'secret' }, 'body.sensitivity'],
    ['unknown top-level field', { ...valid, priority: 'high' }, 'body'],
    ['a JSON array', [valid], 'body'],
  ];
  it.each(cases)('%s', async (_name, body, path) => {
    const res = await stack.call('POST', '/v1/investigations', { token: analyst, body });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.type).toBe('https://tsi.dev/problems/validation-failed');
    expect(res.body.errors.map((e: any) => e.path)).toContain(path);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('malformed JSON is 400 malformed-request', async () => {
    const res = await stack.call('POST', '/v1/investigations', { token: analyst, rawBody: '{"subject": ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('https://tsi.dev/problems/malformed-request');
  });

  it('a non-JSON content type is 415', async () => {
    const res = await stack.call('POST', '/v1/investigations', { token: analyst, rawBody: 'subject=x', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(415);
  });

  it('an oversize body is 413', async () => {
    const res = await stack.call('POST', '/v1/investigations', { token: analyst, body: { ...valid, question: 'x'.repeat(10_000) } });
    expect(res.status).toBe(413);
    expect(res.body.type).toBe('https://tsi.dev/problems/payload-too-large');
  });

  it('bad assign and close bodies are 400', async () => {
    const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: valid });
    const lead = await stack.token('lead@example.com');
    const id = created.body.id;
    expect((await stack.call('POST', `/v1/investigations/${id}:assign`, { token: lead, body: { assignee: 'nope' } })).status).toBe(400);
    expect((await stack.call('POST', `/v1/investigations/${id}:assign`, { token: lead, body: { assignee: 'ghost@example.com' } })).status).toBe(400);
    expect((await stack.call('POST', `/v1/investigations/${id}:close`, { token: lead, body: { decision: 'maybe', rationale: 'x' } })).status).toBe(400);
    expect((await stack.call('POST', `/v1/investigations/${id}:close`, { token: lead, body: { decision: 'no_action' } })).status).toBe(400);
    expect((await stack.call('POST', `/v1/investigations/${id}/comments`, { token: analyst, body: { body: '' } })).status).toBe(400);
  });

  it('unknown routes are 404 and wrong methods 405, both problem+json', async () => {
    const missing = await stack.call('GET', '/v1/nothing', { token: analyst });
    expect(missing.status).toBe(404);
    expect(missing.body.type).toBe('https://tsi.dev/problems/route-not-found');
    const wrong = await stack.call('DELETE', '/v1/investigations', { token: analyst });
    expect(wrong.status).toBe(405);
    const unknownId = await stack.call('GET', '/v1/investigations/inv_nope', { token: analyst });
    expect(unknownId.status).toBe(404);
  });
});
