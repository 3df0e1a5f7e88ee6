import { startTestStack, type TestStack } from './harness.js';

let stack: TestStack;
const tokens: Record<string, string> = {};
beforeAll(async () => {
  stack = await startTestStack();
  for (const who of ['admin', 'lead', 'analyst', 'compliance']) tokens[who] = await stack.token(`${who}@example.com`);
});
afterAll(async () => {
  await stack.destroy();
});

describe('feature flags over the API', () => {
  it('lists every flag with its default for admins and leads, not for analysts', async () => {
    const res = await stack.call('GET', '/v1/flags', { token: tokens.admin });
    expect(res.status).toBe(200);
    expect(res.body.items.map((f: any) => [f.name, f.enabled, f.source])).toEqual([
      ['llm_planner', false, 'default'],
      ['adhoc_sql', true, 'default'],
      ['webhooks', false, 'default'],
    ]);
    expect((await stack.call('GET', '/v1/flags', { token: tokens.lead })).status).toBe(200);
    expect((await stack.call('GET', '/v1/flags', { token: tokens.analyst })).status).toBe(403);
  });

  it('lets an admin flip a flag; the runtime sees it and the change is audited with before and after', async () => {
    const res = await stack.call('PUT', '/v1/flags/webhooks', { token: tokens.admin, body: { enabled: true, reason: 'endpoints are registered' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'webhooks', enabled: true, source: 'stored', updated_by: 'admin@example.com', reason: 'endpoints are registered' });
    await expect(stack.runtime.flags.isEnabled('webhooks')).resolves.toBe(true);
    const listed = await stack.call('GET', '/v1/flags', { token: tokens.lead });
    expect(listed.body.items.find((f: any) => f.name === 'webhooks').enabled).toBe(true);

    const audit = await stack.call('GET', '/v1/audit?action=flags.changed', { token: tokens.compliance });
    expect(audit.status).toBe(200);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actor: 'admin@example.com',
      resource: 'flags/webhooks',
      reason: 'endpoints are registered',
      details: { before: { enabled: false, source: 'default' }, after: { enabled: true, source: 'stored' } },
    });
  });

  it('refuses analysts and leads (403), unknown flags (404) and a change without a reason (400)', async () => {
    for (const who of ['analyst', 'lead']) {
      const res = await stack.call('PUT', '/v1/flags/llm_planner', { token: tokens[who], body: { enabled: true, reason: 'let me try it' } });
      expect(res.status).toBe(403);
      expect(res.body.type).toBe('https://tsi.dev/problems/forbidden');
    }
    const unknown = await stack.call('PUT', '/v1/flags/teleport', { token: tokens.admin, body: { enabled: true, reason: 'why not' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.type).toBe('https://tsi.dev/problems/not-found');
    expect((await stack.call('PUT', '/v1/flags/llm_planner', { token: tokens.admin, body: { enabled: true } })).status).toBe(400);
    await expect(stack.runtime.flags.isEnabled('llm_planner')).resolves.toBe(false);
    const denied = await stack.call('GET', '/v1/audit?action=flags.write', { token: tokens.compliance });
    expect(denied.body.items.filter((r: any) => r.outcome === 'denied').map((r: any) => r.actor).sort()).toEqual(['analyst@example.com', 'lead@example.com']);
  });
});
