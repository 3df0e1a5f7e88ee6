import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestStack, waitFor, type TestStack } from './harness.js';

let stack: TestStack;
afterAll(async () => {
  await stack?.destroy();
});

it('keeps investigations, comments, audit records, role bindings and keys across a restart', async () => {
  stack = await startTestStack();
  const analyst = await stack.token('analyst@example.com');
  const admin = await stack.token('admin@example.com');
  const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'spiky.user@example.com' } } });
  const id = created.body.id;
  const before = await waitFor(stack, id, analyst);
  await stack.call('POST', `/v1/investigations/${id}/comments`, { token: analyst, body: { body: 'Looks like a spike.' } });
  await stack.call('PUT', '/v1/role-bindings/lead@example.com', { token: admin, body: { roles: ['lead', 'compliance'], team: null } });

  stack = await stack.restart();

  // The token issued before the restart still verifies: the signing key survived.
  const after = await stack.call('GET', `/v1/investigations/${id}`, { token: analyst });
  expect(after.status).toBe(200);
  expect(after.body).toEqual({ ...before, comments_count: 1, updated_at: expect.any(String) });
  const comments = await stack.call('GET', `/v1/investigations/${id}/comments`, { token: analyst });
  expect(comments.body.items.map((c: any) => c.body)).toEqual(['Looks like a spike.']);
  const lead = await stack.token('lead@example.com');
  const me = await stack.call('GET', '/v1/me', { token: lead });
  expect(me.body.roles).toEqual(['lead', 'compliance']);
  // The local defaults were not re-applied over the admin's change, and the audit trail is whole.
  const audit = await stack.call('GET', `/v1/audit?resource=investigations/${id}&page_size=500`, { token: lead });
  expect(audit.body.items.some((r: any) => r.action === 'investigations.create' && r.actor === 'analyst@example.com')).toBe(true);
  expect(audit.body.items.some((r: any) => r.action === 'investigations.comment')).toBe(true);
});

it('never writes tokens or subject personal data into the audit log', async () => {
  const raw = readFileSync(join(stack.dataDir, 'audit', 'audit.jsonl'), 'utf8');
  expect(raw.length).toBeGreaterThan(0);
  expect(raw).not.toMatch(/eyJ[\w-]{10,}\./);
  expect(raw).not.toContain('spiky.user@example.com');
  for (const line of raw.trim().split('\n')) {
    const record = JSON.parse(line);
    expect(record).toEqual(expect.objectContaining({ action: expect.any(String), outcome: expect.stringMatching(/allowed|denied|rejected|failed/), time: expect.any(String) }));
  }
});
