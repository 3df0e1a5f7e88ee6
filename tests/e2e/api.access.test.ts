import type { Route } from '../../shared/platform/http.js';
import { apiRoutes } from '../../functions/api/index.js';
import { startTestStack, waitFor, type TestStack } from './harness.js';

/**
 * Access through the real local stack (issue 16): every route that addresses an id refuses a
 * restricted investigation the caller cannot see (0040); separation of duties on roles and holds
 * (0041); records written for holds, purge and erasure carry the request's source IP and trace
 * (0042); per-principal write limits (0043); erasure deadline extensions (0044).
 */
let stack: TestStack;
const tokens: Record<string, string> = {};
const SERVICE = 'svc-bola@example.com';
const COMPLIANCE2 = 'compliance2@example.com';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const traced = { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` };

beforeAll(async () => {
  stack = await startTestStack();
  for (const email of ['admin@example.com', 'analyst@example.com', 'analyst2@example.com', 'lead@example.com', 'compliance@example.com', 'viewer@example.com']) tokens[email] = await stack.token(email);
  // A machine caller, and a second compliance officer granted by an admin (not by themselves).
  for (const [email, roles] of [[SERVICE, ['service']], [COMPLIANCE2, ['compliance']]] as const) {
    const res = await stack.call('PUT', `/v1/role-bindings/${email}`, { token: tokens['admin@example.com'], body: { roles, team: null } });
    expect(res.status).toBe(200);
    tokens[email] = await stack.token(email);
  }
});
afterAll(async () => {
  await stack.destroy();
});

async function openInvestigation(body: Record<string, unknown>, token = tokens['analyst@example.com']!): Promise<string> {
  const res = await stack.call('POST', '/v1/investigations', { token, body });
  expect(res.status).toBe(202);
  await waitFor(stack, res.body.id, token);
  return res.body.id;
}

async function auditOf(query: string): Promise<any[]> {
  const res = await stack.call('GET', `/v1/audit?${query}&page_size=500`, { token: tokens['compliance@example.com'] });
  expect(res.status).toBe(200);
  return res.body.items;
}

/** A valid body for each write that addresses an id, so a refusal is visibility, not validation. */
const BODIES: Record<string, unknown> = {
  'DELETE /v1/investigations/{id}': { reason: 'purge it' },
  'POST /v1/investigations/{id}:cancel': {},
  'POST /v1/investigations/{id}:assign': { assignee: 'analyst2@example.com' },
  'POST /v1/investigations/{id}:close': { decision: 'no_action', rationale: 'nothing found' },
  'POST /v1/investigations/{id}:reopen': {},
  'POST /v1/investigations/{id}/comments': { body: 'I was here' },
  'POST /v1/investigations/{id}/queries': { sql: 'SELECT 1 AS one' },
  'POST /v1/legal-holds/{id}:release': { reason: 'done' },
  'POST /v1/erasure-requests/{id}:extend': { reason: 'complex request with many accounts', subject_informed: true },
  'PATCH /v1/webhooks/{id}': { enabled: false },
  'DELETE /v1/webhooks/{id}': undefined,
  'POST /v1/webhooks/{id}:rotate-secret': {},
  'POST /v1/webhooks/dead-letters/{id}:replay': {},
};

describe('BOLA: a restricted investigation the caller cannot see, on every route with an {id}', () => {
  it('answers 403 or 404 to every role that cannot see it, on every route, and changes nothing', async () => {
    const id = await openInvestigation({ subject: { type: 'user_id', value: 'u_bola_restricted' }, sensitivity: 'restricted' });
    const outsiders = ['viewer@example.com', 'analyst2@example.com', 'compliance@example.com', COMPLIANCE2, 'admin@example.com', SERVICE];
    const routes = apiRoutes(stack.runtime).filter((r: Route) => r.path.includes('{id}'));
    expect(routes.length).toBeGreaterThan(15);
    const missing = routes.filter((r) => r.method !== 'GET' && !(`${r.method} ${r.path}` in BODIES)).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);

    const leaks: string[] = [];
    for (const route of routes) {
      const key = `${route.method} ${route.path}`;
      for (const who of outsiders) {
        const body = route.method === 'GET' ? undefined : BODIES[key];
        const res = await stack.call(route.method, route.path.replace('{id}', id), { token: tokens[who]!, ...(body !== undefined ? { body } : {}) });
        if (res.status !== 403 && res.status !== 404) leaks.push(`${who} ${key} → ${res.status} ${res.body?.type ?? ''}`);
      }
    }
    // Addressed in the body rather than the path: a hold by investigation id.
    for (const who of outsiders) {
      const res = await stack.call('POST', '/v1/legal-holds', { token: tokens[who]!, body: { investigation_id: id, reason: 'r', matter: 'M-BOLA' } });
      if (res.status !== 403 && res.status !== 404) leaks.push(`${who} POST /v1/legal-holds {investigation_id} → ${res.status}`);
    }
    expect(leaks).toEqual([]);

    // The caller who may see it still finds it as it was: not purged, not commented, not assigned, not held.
    const seen = await stack.call('GET', `/v1/investigations/${id}`, { token: tokens['lead@example.com'] });
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ status: 'completed', assignee: null, comments_count: 0 });
    const holds = await stack.call('GET', '/v1/legal-holds', { token: tokens['compliance@example.com'] });
    expect(holds.body.items.filter((h: any) => h.target.investigation_id === id)).toEqual([]);
  });

  it('a compliance officer reading and purging the same restricted investigation both get 404', async () => {
    const id = await openInvestigation({ subject: { type: 'user_id', value: 'u_bola_purge' }, sensitivity: 'restricted' });
    const compliance = tokens['compliance@example.com']!;
    expect((await stack.call('GET', `/v1/investigations/${id}`, { token: compliance })).status).toBe(404);
    const del = await stack.call('DELETE', `/v1/investigations/${id}`, { token: compliance, body: { reason: 'purge' } });
    expect(del.status).toBe(404);
    expect(del.body.type).toBe('https://tsi.dev/problems/not-found');
    expect((await stack.call('GET', `/v1/investigations/${id}`, { token: tokens['analyst@example.com'] })).status).toBe(200);
  });
});

describe('separation of duties', () => {
  it('an admin cannot grant itself compliance; the refusal is audited with its rule', async () => {
    const admin = tokens['admin@example.com']!;
    const res = await stack.call('PUT', '/v1/role-bindings/admin@example.com', { token: admin, body: { roles: ['admin', 'compliance'], team: null } });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ type: 'https://tsi.dev/problems/separation-of-duties', rule: 'self-grant', roles: ['compliance'] });
    expect((await stack.call('GET', '/v1/me', { token: admin })).body.roles).toEqual(['admin']);
    const denied = (await auditOf('action=roles.write')).filter((r) => r.actor === 'admin@example.com' && r.status === 403);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ outcome: 'denied', reason: 'separation of duties: self-grant', resource: 'role-bindings/[PII]' }); // emails in identifiers are redacted by the audit writer (16.2)
  });

  it('the officer who placed a hold cannot release it; a second officer can; every hold, purge and erasure record carries source IP and trace', async () => {
    const id = await openInvestigation({ subject: { type: 'user_id', value: 'u_four_eyes' } });
    const c1 = tokens['compliance@example.com']!;
    const c2 = tokens[COMPLIANCE2]!;
    const hold = await stack.call('POST', '/v1/legal-holds', { token: c1, body: { investigation_id: id, reason: 'inquiry', matter: 'REG-4E' }, headers: traced });
    expect(hold.status).toBe(201);
    expect((await stack.call('DELETE', `/v1/investigations/${id}`, { token: c1, body: { reason: 'tidy' }, headers: traced })).status).toBe(409);

    const self = await stack.call('POST', `/v1/legal-holds/${hold.body.id}:release`, { token: c1, body: { reason: 'I placed it' }, headers: traced });
    expect(self.status).toBe(403);
    expect(self.body).toMatchObject({ type: 'https://tsi.dev/problems/separation-of-duties', rule: 'hold-release-by-placer', legal_hold_id: hold.body.id });
    expect((await stack.call('GET', `/v1/legal-holds/${hold.body.id}`, { token: c1 })).body.state).toBe('active');
    const denied = (await auditOf(`resource=legal-holds/${hold.body.id}`)).filter((r) => r.action === 'legal_holds.release' && r.status === 403);
    expect(denied).toMatchObject([{ outcome: 'denied', reason: 'separation of duties: hold-release-by-placer', actor: 'compliance@example.com' }]);

    const released = await stack.call('POST', `/v1/legal-holds/${hold.body.id}:release`, { token: c2, body: { reason: 'inquiry closed' }, headers: traced });
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ state: 'released', placed_by: 'compliance@example.com', released_by: COMPLIANCE2 });
    expect((await stack.call('DELETE', `/v1/investigations/${id}`, { token: c1, body: { reason: 'tidy' }, headers: traced })).status).toBe(204);
    const erasure = await stack.call('POST', '/v1/erasure-requests', { token: c1, body: { subject: { type: 'email', value: 'traced.subject@example.com' } }, headers: traced });
    expect(erasure.status).toBe(202);

    const written = [
      ...(await auditOf('action=legal_holds.place')),
      ...(await auditOf('action=legal_holds.release')),
      ...(await auditOf('action=legal_hold.blocked_deletion')),
      ...(await auditOf('action=investigations.delete')),
      ...(await auditOf('action=erasure.request')),
    ].filter((r) => r.method === undefined && (r.resource === `legal-holds/${hold.body.id}` || r.resource === `investigations/${id}` || r.resource === `erasure-requests/${erasure.body.id}`));
    expect(written.map((r) => r.action).sort()).toEqual(['erasure.request', 'investigations.delete', 'legal_hold.blocked_deletion', 'legal_holds.place', 'legal_holds.release']);
    for (const r of written) {
      expect({ action: r.action, source_ip: typeof r.source_ip === 'string' && r.source_ip.length > 0, trace: r.trace, request_id: typeof r.request_id === 'string' }).toEqual({ action: r.action, source_ip: true, trace: TRACE, request_id: true });
    }
  });
});

describe('erasure deadline extension', () => {
  it('extends once with a reason (shown on the request), refuses the second time with 409, and is compliance-only', async () => {
    const c1 = tokens['compliance@example.com']!;
    // Keep the request open (nothing about this subject: the worker would complete it at once).
    stack.bus.pause('erasure-worker');
    const req = await stack.call('POST', '/v1/erasure-requests', { token: c1, body: { subject: { type: 'email', value: 'complex.case@example.com' } } });
    expect(req.status).toBe(202);
    expect(req.body).toMatchObject({ extension: null, original_due_at: req.body.due_at });
    const body = { reason: 'Forty linked accounts across three products.', subject_informed: true };
    expect((await stack.call('POST', `/v1/erasure-requests/${req.body.id}:extend`, { token: tokens['analyst@example.com'], body })).status).toBe(403);
    expect((await stack.call('POST', `/v1/erasure-requests/${req.body.id}:extend`, { token: c1, body: { reason: body.reason } })).status).toBe(400);

    const ext = await stack.call('POST', `/v1/erasure-requests/${req.body.id}:extend`, { token: c1, body, headers: traced });
    expect(ext.status).toBe(200);
    expect(ext.body.original_due_at).toBe(req.body.due_at);
    expect(ext.body.due_at > req.body.due_at).toBe(true);
    expect(ext.body.extension).toMatchObject({ reason: body.reason, extended_by: 'compliance@example.com', extended_until: ext.body.due_at, subject_informed: true });
    const read = await stack.call('GET', `/v1/erasure-requests/${req.body.id}`, { token: c1 });
    expect(read.body).toMatchObject({ due_at: ext.body.due_at, extension: ext.body.extension });

    const again = await stack.call('POST', `/v1/erasure-requests/${req.body.id}:extend`, { token: tokens[COMPLIANCE2], body });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ type: 'https://tsi.dev/problems/erasure-already-extended', extended_until: ext.body.due_at });
    const audited = (await auditOf(`resource=erasure-requests/${req.body.id}`)).filter((r) => r.action === 'erasure.extended');
    expect(audited).toMatchObject([{ actor: 'compliance@example.com', reason: body.reason, trace: TRACE }]);
    expect(typeof audited[0].source_ip).toBe('string');
    stack.bus.resume('erasure-worker');
  });
});

describe('per-principal write limits', () => {
  it('150 comments in a minute: 429 problem+json with Retry-After after the limit, audited; another principal is unaffected', async () => {
    const id = await openInvestigation({ subject: { type: 'user_id', value: 'u_chatty' } }, tokens['lead@example.com']);
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<TestStack['call']>> | null = null;
    for (let i = 0; i < 150; i++) {
      const res = await stack.call('POST', `/v1/investigations/${id}/comments`, { token: tokens['lead@example.com'], body: { body: `comment ${i}` } });
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
    }
    const created = statuses.filter((s) => s === 201).length;
    expect(statuses.every((s) => s === 201 || s === 429)).toBe(true);
    // 60 a minute (default): at most two windows' worth get through, whatever the clock does.
    expect(created).toBeLessThanOrEqual(120);
    expect(statuses.indexOf(429)).toBeLessThanOrEqual(60);
    expect(refused).not.toBeNull();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused!.headers.get('content-type')).toContain('application/problem+json');
    expect(refused!.body).toMatchObject({ type: 'https://tsi.dev/problems/rate-limited', status: 429 });
    const audited = (await auditOf(`action=investigations.comment&actor=lead@example.com`)).filter((r) => r.status === 429);
    expect(audited.length).toBe(150 - created);
    expect(audited[0]).toMatchObject({ outcome: 'rejected', reason: 'rate limit write: 60 per 60 s' });
    expect((await stack.call('POST', `/v1/investigations/${id}/comments`, { token: tokens['analyst@example.com'], body: { body: 'still fine' } })).status).toBe(201);
  });
});
