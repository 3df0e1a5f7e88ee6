import { startTestStack, waitFor, type TestStack } from './harness.js';

let stack: TestStack;
let analyst: string;
let analyst2: string;
let lead: string;
let viewer: string;
let admin: string;

beforeAll(async () => {
  stack = await startTestStack();
  analyst = await stack.token('analyst@example.com');
  analyst2 = await stack.token('analyst2@example.com');
  lead = await stack.token('lead@example.com');
  viewer = await stack.token('viewer@example.com');
  admin = await stack.token('admin@example.com');
});
afterAll(async () => {
  await stack.destroy();
});

const create = (token: string, body: unknown, headers: Record<string, string> = {}) => stack.call('POST', '/v1/investigations', { token, body, headers });

describe('investigation lifecycle through the API', () => {
  it('runs an investigation end to end: 202 queued, then steps, findings and a result', async () => {
    const res = await create(analyst, { subject: { type: 'email', value: 'ban.evader@example.com' } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', created_by: 'analyst@example.com', window_days: 30, sensitivity: 'standard' });
    expect(res.headers.get('location')).toBe(`/v1/investigations/${res.body.id}`);
    const done = await waitFor(stack, res.body.id, analyst);
    expect(done.status).toBe('completed');
    expect(done.steps.length).toBeGreaterThanOrEqual(4);
    for (const step of done.steps) {
      expect(step).toMatchObject({ status: 'ok', rows: expect.any(Number), estimated_bytes: expect.any(Number), duration_ms: expect.any(Number) });
      expect(step.freshness).toBeDefined();
      expect(JSON.stringify(step.params)).not.toContain('ban.evader@example.com');
    }
    expect(done.findings.length).toBeGreaterThan(0);
    expect(done.risk.score).toBeGreaterThan(0);
    expect(done.recommended_action.action).not.toBe('none');
    // An analyst has no PII access: the subject comes back masked.
    expect(done.subject).toEqual({ type: 'email', value: 'b***@example.com', masked: true });
  });

  it('completes a subject that does not exist with that as its result', async () => {
    const res = await create(analyst, { subject: { type: 'email', value: 'nobody-here@example.org' } });
    const done = await waitFor(stack, res.body.id, analyst);
    expect(done.status).toBe('completed');
    expect(done.findings).toEqual([]);
    expect(done.resolved_accounts).toEqual([]);
    expect(done.summary).toMatch(/not found|no account/i);
  });

  it('shows a lead the unmasked subject and audits that read of personal data', async () => {
    const res = await create(analyst, { subject: { type: 'email', value: 'clean.user@example.com' } });
    const read = await stack.call('GET', `/v1/investigations/${res.body.id}`, { token: lead });
    expect(read.status).toBe(200);
    expect(read.body.subject).toEqual({ type: 'email', value: 'clean.user@example.com', masked: false });
    const compliance = await stack.token('compliance@example.com');
    const audit = await stack.call('GET', `/v1/audit?actor=lead@example.com&resource=investigations/${res.body.id}`, { token: compliance });
    expect(audit.status).toBe(200);
    const actions = audit.body.items.map((r: any) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['pii.read', 'investigations.read']));
    expect(JSON.stringify(audit.body)).not.toContain('clean.user@example.com');
  });

  it('refuses invalid transitions with 409 and walks the valid ones', async () => {
    const res = await create(analyst, { subject: { type: 'email', value: 'clean.user@example.com' } });
    const id = res.body.id;
    await waitFor(stack, id, analyst);
    const reopen = await stack.call('POST', `/v1/investigations/${id}:reopen`, { token: lead });
    expect(reopen.status).toBe(409);
    expect(reopen.headers.get('content-type')).toContain('application/problem+json');
    expect(reopen.body.type).toBe('https://tsi.dev/problems/invalid-transition');
    const cancel = await stack.call('POST', `/v1/investigations/${id}:cancel`, { token: analyst });
    expect(cancel.status).toBe(409);

    const assign = await stack.call('POST', `/v1/investigations/${id}:assign`, { token: lead, body: { assignee: 'analyst2@example.com' } });
    expect(assign.status).toBe(200);
    expect(assign.body.assignee).toBe('analyst2@example.com');
    const close = await stack.call('POST', `/v1/investigations/${id}:close`, { token: lead, body: { decision: 'no_action', rationale: 'Clean account.' } });
    expect(close.status).toBe(200);
    expect(close.body).toMatchObject({ status: 'closed', decision: { outcome: 'no_action', closed_by: 'lead@example.com' } });
    const closeAgain = await stack.call('POST', `/v1/investigations/${id}:close`, { token: lead, body: { decision: 'no_action', rationale: 'again' } });
    expect(closeAgain.status).toBe(409);
    const analystReopen = await stack.call('POST', `/v1/investigations/${id}:reopen`, { token: analyst });
    expect(analystReopen.status).toBe(403);
    const reopened = await stack.call('POST', `/v1/investigations/${id}:reopen`, { token: lead });
    expect(reopened.status).toBe(200);
    expect(reopened.body).toMatchObject({ status: 'completed', decision: null });
  });

  it('cancels queued work and keeps comments', async () => {
    stack.bus.pause('investigation-worker');
    try {
      const res = await create(analyst, { subject: { type: 'user_id', value: 'u_does_not_matter' } });
      const cancel = await stack.call('POST', `/v1/investigations/${res.body.id}:cancel`, { token: analyst });
      expect(cancel.status).toBe(200);
      expect(cancel.body.status).toBe('cancelled');
      const comment = await stack.call('POST', `/v1/investigations/${res.body.id}/comments`, { token: analyst, body: { body: 'Opened by mistake.' } });
      expect(comment.status).toBe(201);
      const comments = await stack.call('GET', `/v1/investigations/${res.body.id}/comments`, { token: lead });
      expect(comments.body.items).toEqual([expect.objectContaining({ author: 'analyst@example.com', body: 'Opened by mistake.' })]);
    } finally {
      stack.bus.resume('investigation-worker');
    }
  });

  it('lists with filters and cursor pagination', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create(lead, { subject: { type: 'user_id', value: `u_page_${i}` } })).body.id);
    const page1 = await stack.call('GET', '/v1/investigations?created_by=lead@example.com&page_size=2', { token: lead });
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((i: any) => i.id)).toEqual([ids[2], ids[1]]);
    expect(page1.body.next_page_token).toBeTruthy();
    const page2 = await stack.call('GET', `/v1/investigations?created_by=lead@example.com&page_size=2&page_token=${page1.body.next_page_token}`, { token: lead });
    expect(page2.body.items.map((i: any) => i.id)).toEqual([ids[0]]);
    expect(page2.body.next_page_token).toBeNull();
    const bad = await stack.call('GET', '/v1/investigations?status=sleeping', { token: lead });
    expect(bad.status).toBe(400);
  });

  it('replays an Idempotency-Key retry instead of creating a second investigation', async () => {
    const body = { subject: { type: 'email', value: 'clean.user@example.com' }, question: 'retry me' };
    const first = await create(analyst, body, { 'Idempotency-Key': 'key-123' });
    const second = await create(analyst, body, { 'Idempotency-Key': 'key-123' });
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const other = await create(analyst, { ...body, question: 'different' }, { 'Idempotency-Key': 'key-123' });
    expect(other.status).toBe(422);
  });
});

describe('access control', () => {
  it('forbids a viewer from creating (403) but lets a viewer read standard investigations masked', async () => {
    const res = await create(viewer, { subject: { type: 'email', value: 'clean.user@example.com' } });
    expect(res.status).toBe(403);
    expect(res.body.type).toBe('https://tsi.dev/problems/forbidden');
    const mine = await create(analyst, { subject: { type: 'email', value: 'clean.user@example.com' } });
    const read = await stack.call('GET', `/v1/investigations/${mine.body.id}`, { token: viewer });
    expect(read.status).toBe(200);
    expect(read.body.subject.masked).toBe(true);
  });

  it('hides a restricted investigation from another team with 404 on every route, and shows it to a lead', async () => {
    const res = await create(analyst, { subject: { type: 'email', value: 'clean.user@example.com' }, sensitivity: 'restricted' });
    const id = res.body.id;
    for (const [method, path, body] of [
      ['GET', `/v1/investigations/${id}`, undefined],
      ['GET', `/v1/investigations/${id}/comments`, undefined],
      ['POST', `/v1/investigations/${id}:cancel`, undefined],
      ['POST', `/v1/investigations/${id}/comments`, { body: 'peek' }],
    ] as const) {
      const r = await stack.call(method, path, { token: analyst2, body });
      expect([method, path, r.status]).toEqual([method, path, 404]);
    }
    const list = await stack.call('GET', '/v1/investigations?created_by=analyst@example.com&page_size=100', { token: analyst2 });
    expect(list.body.items.map((i: any) => i.id)).not.toContain(id);
    expect((await stack.call('GET', `/v1/investigations/${id}`, { token: lead })).status).toBe(200);
    expect((await stack.call('GET', `/v1/investigations/${id}`, { token: viewer })).status).toBe(404);
  });

  it('does not let an admin read investigation contents, but lets an admin manage roles (audited)', async () => {
    const mine = await create(analyst, { subject: { type: 'email', value: 'clean.user@example.com' } });
    expect((await stack.call('GET', `/v1/investigations/${mine.body.id}`, { token: admin })).status).toBe(403);
    const put = await stack.call('PUT', '/v1/role-bindings/newbie@example.com', { token: admin, body: { roles: ['analyst'], team: 'trust' } });
    expect(put.status).toBe(200);
    const newbie = await stack.token('newbie@example.com');
    expect((await create(newbie, { subject: { type: 'email', value: 'clean.user@example.com' } })).status).toBe(202);
    expect((await stack.call('PUT', '/v1/role-bindings/x@example.com', { token: analyst, body: { roles: ['admin'] } })).status).toBe(403);
    const compliance = await stack.token('compliance@example.com');
    const audit = await stack.call('GET', '/v1/audit?action=roles.changed', { token: compliance });
    expect(audit.body.items[0]).toMatchObject({ actor: 'admin@example.com', resource: 'role-bindings/newbie@example.com', details: { before: null, after: { roles: ['analyst'], team: 'trust' } } });
  });

  it('gives unknown principals no role and refuses them a local token', async () => {
    const res = await fetch(`${stack.url}/_local/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'stranger@example.com' }) });
    expect(res.status).toBe(403);
  });

  it('lets only compliance read the audit log', async () => {
    expect((await stack.call('GET', '/v1/audit', { token: analyst })).status).toBe(403);
    expect((await stack.call('GET', '/v1/audit', { token: admin })).status).toBe(403);
  });
});

describe('health', () => {
  it('reports liveness and a readiness that touches store, warehouse and events with latencies', async () => {
    expect((await stack.call('GET', '/healthz')).status).toBe(200);
    const ready = await stack.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    const names = ready.body.checks.map((c: any) => c.name);
    expect(names).toEqual(expect.arrayContaining(['store', 'warehouse', 'events']));
    for (const check of ready.body.checks) expect(check).toMatchObject({ ok: true, latency_ms: expect.any(Number) });
  });
});
