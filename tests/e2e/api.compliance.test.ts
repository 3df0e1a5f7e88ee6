import { startTestStack, waitFor, type TestStack } from './harness.js';

let stack: TestStack;
let analyst: string;
let compliance: string;
/** A second officer, granted by an admin: the one who placed a hold cannot release it. */
let compliance2: string;

beforeAll(async () => {
  stack = await startTestStack();
  analyst = await stack.token('analyst@example.com');
  compliance = await stack.token('compliance@example.com');
  const admin = await stack.token('admin@example.com');
  expect((await stack.call('PUT', '/v1/role-bindings/compliance2@example.com', { token: admin, body: { roles: ['compliance'], team: null } })).status).toBe(200);
  compliance2 = await stack.token('compliance2@example.com');
});
afterAll(async () => {
  await stack.destroy();
});

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function investigation(value: string): Promise<string> {
  const res = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value } } });
  expect(res.status).toBe(202);
  await waitFor(stack, res.body.id, analyst);
  return res.body.id;
}

describe('retention, legal hold and erasure through the API', () => {
  it('is compliance-only: an analyst gets 403 on holds, erasure and retention', async () => {
    expect((await stack.call('POST', '/v1/legal-holds', { token: analyst, body: { investigation_id: 'inv_x', reason: 'r', matter: 'm' } })).status).toBe(403);
    expect((await stack.call('GET', '/v1/legal-holds', { token: analyst })).status).toBe(403);
    expect((await stack.call('POST', '/v1/erasure-requests', { token: analyst, body: { subject: { type: 'email', value: 'a@example.com' } } })).status).toBe(403);
    expect((await stack.call('GET', '/v1/retention-policies', { token: analyst })).status).toBe(403);
    expect((await stack.call('PUT', '/v1/retention-policies', { token: analyst, body: { policies: [{ kind: 'outbox', days: 1 }] } })).status).toBe(403);
  });

  it('refuses to delete a held investigation with 409 naming the hold, and deletes it once released', async () => {
    const id = await investigation('ban.evader@example.com');
    await stack.call('POST', `/v1/investigations/${id}/comments`, { token: analyst, body: { body: 'looked at it' } });
    const comments = await stack.call('GET', `/v1/investigations/${id}/comments`, { token: analyst });
    expect(comments.status).toBe(200);
    expect(comments.body.items.map((c: { body: string }) => c.body)).toEqual(['looked at it']);

    const hold = await stack.call('POST', '/v1/legal-holds', { token: compliance, body: { investigation_id: id, reason: 'regulator inquiry', matter: 'REG-2026-01' } });
    expect(hold.status).toBe(201);
    expect(hold.body).toMatchObject({ state: 'active', matter: 'REG-2026-01', target: { kind: 'investigation', investigation_id: id } });
    expect((await stack.call('GET', `/v1/legal-holds/${hold.body.id}`, { token: compliance })).body.id).toBe(hold.body.id);

    const del = await stack.call('DELETE', `/v1/investigations/${id}`, { token: compliance, body: { reason: 'tidy up' } });
    expect(del.status).toBe(409);
    expect(del.body).toMatchObject({ type: expect.stringContaining('legal-hold'), legal_hold_id: hold.body.id, matter: 'REG-2026-01' });
    expect((await stack.call('GET', `/v1/investigations/${id}`, { token: analyst })).status).toBe(200);

    // Releasing needs a reason, and a second person.
    expect((await stack.call('POST', `/v1/legal-holds/${hold.body.id}:release`, { token: compliance2, body: {} })).status).toBe(400);
    expect((await stack.call('POST', `/v1/legal-holds/${hold.body.id}:release`, { token: compliance, body: { reason: 'inquiry closed' } })).status).toBe(403);
    const released = await stack.call('POST', `/v1/legal-holds/${hold.body.id}:release`, { token: compliance2, body: { reason: 'inquiry closed' } });
    expect(released.body).toMatchObject({ state: 'released', release_reason: 'inquiry closed', released_by: 'compliance2@example.com' });
    expect((await stack.call('DELETE', `/v1/investigations/${id}`, { token: compliance, body: { reason: 'tidy up' } })).status).toBe(204);
    expect((await stack.call('GET', `/v1/investigations/${id}`, { token: analyst })).status).toBe(404);
  });

  it('an erasure under a subject hold reads blocked naming the hold; after release it completes with a receipt', async () => {
    const subject = { type: 'email', value: 'voice.cloner@example.com' };
    const id = await investigation(subject.value);
    const hold = await stack.call('POST', '/v1/legal-holds', { token: compliance, body: { subject, reason: 'litigation', matter: 'LIT-9' } });
    expect(JSON.stringify(hold.body)).not.toContain(subject.value);

    const req = await stack.call('POST', '/v1/erasure-requests', { token: compliance, body: { subject } });
    expect(req.status).toBe(202);
    expect(req.body).toMatchObject({ status: 'blocked', blocked_by: [{ id: hold.body.id, matter: 'LIT-9' }], due_flag: null });
    expect(JSON.stringify(req.body)).not.toContain(subject.value);
    const listed = await stack.call('GET', '/v1/erasure-requests', { token: compliance });
    expect(listed.body.items.find((i: { id: string }) => i.id === req.body.id)).toMatchObject({ status: 'blocked', due_at: req.body.due_at });

    await stack.call('POST', `/v1/legal-holds/${hold.body.id}:release`, { token: compliance2, body: { reason: 'settled' } });
    const done = await until(
      () => stack.call('GET', `/v1/erasure-requests/${req.body.id}`, { token: compliance }),
      (r) => r.body.status === 'completed',
    );
    expect(done.body.status).toBe('completed');
    expect(done.body.receipt).toMatchObject({ erasure_id: req.body.id, subject_type: 'email', hold_check: { outcome: 'clear' }, key: { had_key: true } });
    expect(done.body.receipt.stores.find((s: { store: string }) => s.store === 'investigations').erased).toBeGreaterThanOrEqual(1);

    const lead = await stack.token('lead@example.com');
    const inv = await stack.call('GET', `/v1/investigations/${id}`, { token: lead });
    expect(inv.body.subject.value).not.toContain('voice.cloner');
    expect(JSON.stringify(inv.body)).not.toContain(subject.value);
  });

  it('reads and changes retention policies; a locked policy cannot be shortened (409)', async () => {
    const list = await stack.call('GET', '/v1/retention-policies', { token: compliance });
    expect(list.status).toBe(200);
    expect(list.body.items.map((p: { kind: string }) => p.kind)).toContain('investigations.closed');
    const lock = await stack.call('PUT', '/v1/retention-policies', { token: compliance, body: { policies: [{ kind: 'investigations.cancelled', days: 120, locked: true }] } });
    expect(lock.status).toBe(200);
    expect(lock.body.items.find((p: { kind: string }) => p.kind === 'investigations.cancelled')).toMatchObject({ days: 120, locked: true });
    const shorter = await stack.call('PUT', '/v1/retention-policies', { token: compliance, body: { policies: [{ kind: 'investigations.cancelled', days: 60 }] } });
    expect(shorter.status).toBe(409);
    expect(shorter.body.type).toContain('retention-policy-locked');
    const dry = await stack.call('POST', '/v1/retention-policies:sweep', { token: compliance, body: { dry_run: true } });
    expect(dry.status).toBe(200);
    expect(dry.body.dry_run).toBe(true);
  });
});
