import { createServer, type Server } from 'node:http';
import { EventTypes } from '../../shared/events/model.js';
import { startTestStack, waitFor, type TestStack } from './harness.js';

/**
 * Races fired as real parallel HTTP requests at the running local stack (issue 12): one
 * Idempotency-Key sent 20 times at once has one effect; one ETag sent 20 times at once lets one
 * update through and answers the rest 412.
 */
let stack: TestStack;
let hookServer: Server;
let hookUrl = '';
let analyst = '';
let lead = '';
let admin = '';
let compliance = '';
const PARALLEL = 20;

beforeAll(async () => {
  hookServer = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', () => r()));
  const a = hookServer.address();
  hookUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
  stack = await startTestStack({ TSI_RATE_WRITE_PER_MINUTE: '10000' });
  analyst = await stack.token('analyst@example.com');
  lead = await stack.token('lead@example.com');
  admin = await stack.token('admin@example.com');
  compliance = await stack.token('compliance@example.com');
});
afterAll(async () => {
  await stack.destroy();
  await new Promise<void>((r) => hookServer.close(() => r()));
});

async function queuedInvestigation(): Promise<string> {
  const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'user_id', value: 'u_000042' } } });
  expect(created.status).toBe(202);
  return created.body.id;
}

type Reply = Awaited<ReturnType<TestStack['call']>>;

function together(n: number, send: () => Promise<Reply>): Promise<Reply[]> {
  return Promise.all(Array.from({ length: n }, send));
}

/** Exactly one first answer, every other one its replay or a 409 in-progress; never a 5xx. */
function expectOneEffect(replies: Reply[], created: number) {
  const statuses = replies.map((r) => r.status);
  expect(statuses.filter((s) => s >= 500)).toEqual([]);
  const fresh = replies.filter((r) => r.status === created && r.headers.get('idempotent-replayed') !== 'true');
  expect(fresh).toHaveLength(1);
  for (const r of replies) {
    if (r === fresh[0]) continue;
    if (r.status === 409) {
      expect(r.body.type).toBe('https://tsi.dev/problems/idempotency-key-in-progress');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    } else {
      expect(r.status).toBe(created);
      expect(r.headers.get('idempotent-replayed')).toBe('true');
      expect(r.body).toEqual(fresh[0]!.body);
    }
  }
  return fresh[0]!;
}

describe('the same Idempotency-Key sent 20 times at once', () => {
  it('adds one comment', async () => {
    stack.bus.pause('investigation-worker');
    const id = await queuedInvestigation();
    const replies = await together(PARALLEL, () => stack.call('POST', `/v1/investigations/${id}/comments`, { token: analyst, body: { body: 'seen it' }, headers: { 'idempotency-key': 'comment-race-1' } }));
    stack.bus.resume('investigation-worker');
    expectOneEffect(replies, 201);
    const comments = await stack.call('GET', `/v1/investigations/${id}/comments`, { token: analyst });
    expect(comments.body.items).toHaveLength(1);
  });

  it('creates one webhook subscription', async () => {
    const description = `race ${Math.random()}`;
    const replies = await together(PARALLEL, () =>
      stack.call('POST', '/v1/webhooks', { token: admin, body: { url: hookUrl, event_types: [EventTypes.investigationCompleted], description }, headers: { 'idempotency-key': 'webhook-race-1' } }),
    );
    const first = expectOneEffect(replies, 201);
    const list = await stack.call('GET', '/v1/webhooks?page_size=100', { token: admin });
    expect(list.body.items.filter((s: { description?: string }) => s.description === description).map((s: { id: string }) => s.id)).toEqual([first.body.id]);
  });

  it('places one legal hold', async () => {
    const id = await queuedInvestigation();
    const matter = `RACE-${Date.now()}`;
    const replies = await together(PARALLEL, () =>
      stack.call('POST', '/v1/legal-holds', { token: compliance, body: { investigation_id: id, reason: 'race', matter }, headers: { 'idempotency-key': 'hold-race-1' } }),
    );
    const first = expectOneEffect(replies, 201);
    const holds = await stack.call('GET', '/v1/legal-holds?page_size=100', { token: compliance });
    expect(holds.body.items.filter((h: { matter: string }) => h.matter === matter).map((h: { id: string }) => h.id)).toEqual([first.body.id]);
  });

  it('opens one investigation (the create use case keeps its key in its own transaction)', async () => {
    stack.bus.pause('investigation-worker');
    const replies = await together(PARALLEL, () => stack.call('POST', '/v1/investigations', { token: lead, body: { subject: { type: 'user_id', value: 'u_000007' } }, headers: { 'idempotency-key': 'create-race-1' } }));
    stack.bus.resume('investigation-worker');
    const first = expectOneEffect(replies, 202);
    const mine = await stack.call('GET', '/v1/investigations?created_by=lead%40example.com&page_size=100', { token: lead });
    expect(mine.body.items.map((i: { id: string }) => i.id)).toEqual([first.body.id]);
  });

  it('lets a retry with the key run after the first request failed', async () => {
    const missing = await stack.call('POST', '/v1/investigations/inv_00000000000000000000000000/comments', { token: analyst, body: { body: 'x' }, headers: { 'idempotency-key': 'comment-after-404' } });
    expect(missing.status).toBe(404);
    const again = await stack.call('POST', '/v1/investigations/inv_00000000000000000000000000/comments', { token: analyst, body: { body: 'x' }, headers: { 'idempotency-key': 'comment-after-404' } });
    expect(again.status).toBe(404);
    expect(again.body.type).toBe('https://tsi.dev/problems/not-found');
  });
});

/** Exactly one 2xx, every other answer 412 precondition-failed. */
function expectOneUpdate(replies: Reply[]) {
  const statuses = replies.map((r) => r.status).sort();
  expect(statuses.filter((s) => s < 300)).toHaveLength(1);
  expect(statuses.filter((s) => s >= 300)).toEqual(Array(replies.length - 1).fill(412));
}

describe('the same If-Match ETag sent 20 times at once', () => {
  it('assigns an investigation once', async () => {
    stack.bus.pause('investigation-worker');
    const id = await queuedInvestigation();
    const etag = (await stack.call('GET', `/v1/investigations/${id}`, { token: lead })).headers.get('etag')!;
    const replies = await together(PARALLEL, () => stack.call('POST', `/v1/investigations/${id}:assign`, { token: lead, body: { assignee: 'analyst@example.com' }, headers: { 'if-match': etag } }));
    stack.bus.resume('investigation-worker');
    expectOneUpdate(replies);
    const doc = await stack.runtime.store.get(id);
    expect(doc!.history.filter((h) => h.action === 'assign')).toHaveLength(1);
  });

  it('changes a webhook subscription once', async () => {
    const created = await stack.call('POST', '/v1/webhooks', { token: admin, body: { url: hookUrl, event_types: [EventTypes.investigationCompleted] } });
    expect(created.status).toBe(201);
    const etag = (await stack.call('GET', `/v1/webhooks/${created.body.id}`, { token: admin })).headers.get('etag')!;
    let n = 0;
    const replies = await together(PARALLEL, () => stack.call('PATCH', `/v1/webhooks/${created.body.id}`, { token: admin, body: { description: `edit ${++n}` }, headers: { 'if-match': etag } }));
    expectOneUpdate(replies);
  });

  it('sets a role binding once', async () => {
    const email = 'race.member@example.com';
    await stack.call('PUT', `/v1/role-bindings/${email}`, { token: admin, body: { roles: ['viewer'], team: null } });
    const list = await stack.call('GET', '/v1/role-bindings?page_size=100', { token: admin });
    expect(list.status).toBe(200);
    const first = await stack.call('PUT', `/v1/role-bindings/${email}`, { token: admin, body: { roles: ['viewer'], team: null } });
    const etag = first.headers.get('etag')!;
    const replies = await together(PARALLEL, () => stack.call('PUT', `/v1/role-bindings/${email}`, { token: admin, body: { roles: ['analyst'], team: 'trust' }, headers: { 'if-match': etag } }));
    expectOneUpdate(replies);
  });

  it('sets a feature flag once', async () => {
    const first = await stack.call('PUT', '/v1/flags/adhoc_sql', { token: admin, body: { enabled: true, reason: 'race baseline' } });
    const etag = first.headers.get('etag')!;
    const replies = await together(PARALLEL, () => stack.call('PUT', '/v1/flags/adhoc_sql', { token: admin, body: { enabled: true, reason: 'race edit' }, headers: { 'if-match': etag } }));
    expectOneUpdate(replies);
  });
});

describe('every route that declares a version checks If-Match in its write', () => {
  /** Reads the ETag, sends the change with it (2xx), then again with the now stale one (412). */
  async function fresh(read: string, method: string, path: string, token: string, body?: unknown) {
    const etag = (await stack.call('GET', read, { token })).headers.get('etag')!;
    const ok = await stack.call(method, path, { token, ...(body !== undefined ? { body } : {}), headers: { 'if-match': etag } });
    expect([path, ok.status]).toEqual([path, expect.any(Number)]);
    expect(ok.status).toBeLessThan(300);
    return etag;
  }

  it('investigation cancel, close and reopen', async () => {
    stack.bus.pause('investigation-worker');
    const cancelled = await queuedInvestigation();
    await fresh(`/v1/investigations/${cancelled}`, 'POST', `/v1/investigations/${cancelled}:cancel`, analyst, {});
    const id = await queuedInvestigation();
    stack.bus.resume('investigation-worker');
    await waitFor(stack, id, analyst, ['completed']);
    const before = await fresh(`/v1/investigations/${id}`, 'POST', `/v1/investigations/${id}:close`, lead, { decision: 'no_action', rationale: 'fine' });
    expect((await stack.call('POST', `/v1/investigations/${id}:reopen`, { token: lead, body: {}, headers: { 'if-match': before } })).status).toBe(412);
    await fresh(`/v1/investigations/${id}`, 'POST', `/v1/investigations/${id}:reopen`, lead, {});
  });

  it('webhook secret rotation and delete', async () => {
    const created = await stack.call('POST', '/v1/webhooks', { token: admin, body: { url: hookUrl, event_types: [EventTypes.investigationCompleted] } });
    const path = `/v1/webhooks/${created.body.id}`;
    const stale = await fresh(path, 'POST', `${path}:rotate-secret`, admin, {});
    expect((await stack.call('DELETE', path, { token: admin, headers: { 'if-match': stale } })).status).toBe(412);
    await fresh(path, 'DELETE', path, admin);
  });
});
