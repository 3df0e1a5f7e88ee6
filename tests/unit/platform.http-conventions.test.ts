import { createHttpHandler, deprecationHeaders, type Route } from '../../shared/platform/http.js';
import { MemoryIdempotencyStore } from '../../shared/platform/idempotency.js';
import { Logger } from '../../shared/platform/logger.js';

/** Kit conventions on a bare route table: deprecation headers, idempotent replays, ETag/If-Match. */
function fakeReq(method: string, url: string, headers: Record<string, string> = {}, body?: unknown) {
  const raw = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  return { method, url, originalUrl: url, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, rawBody: raw, socket: {} } as never;
}
function fakeRes() {
  const out = { status: 0, headers: {} as Record<string, string>, body: '' };
  const res = {
    headersSent: false,
    set statusCode(s: number) { out.status = s; },
    setHeader(k: string, v: string) { out.headers[k.toLowerCase()] = v; return res; },
    getHeader(k: string) { return out.headers[k.toLowerCase()]; },
    end(b?: string) { out.body = b ?? ''; },
  };
  return { res: res as never, out };
}

const deps = (store = new MemoryIdempotencyStore()) => ({
  logger: new Logger({}, () => undefined, 'ERROR'),
  clock: { now: () => new Date('2026-03-01T00:00:00Z') },
  maxBodyBytes: 10_000,
  identify: async () => ({ email: 'a@example.com', roles: [], team: null, via: 'test', can: () => true }),
  audit: async () => undefined,
  idempotency: store,
});

test('a deprecated route answers with Deprecation, Sunset and a successor link', async () => {
  const route: Route = {
    method: 'GET', path: '/v1/old', action: 'old', auth: 'none',
    deprecated: { since: new Date('2026-01-01T00:00:00Z'), sunset: new Date('2026-07-01T00:00:00Z'), successor: '/v2/new' },
    handle: async () => ({ status: 200, body: { ok: true } }),
  };
  const { res, out } = fakeRes();
  await createHttpHandler([route], deps())(fakeReq('GET', '/v1/old'), res);
  expect(out.status).toBe(200);
  expect(out.headers.deprecation).toBe('@1767225600');
  expect(out.headers.sunset).toBe('Wed, 01 Jul 2026 00:00:00 GMT');
  expect(out.headers.link).toBe('</v2/new>; rel="successor-version"');
  expect(deprecationHeaders({ since: new Date(0), sunset: new Date(0) })).not.toHaveProperty('Link');
});

test('Idempotency-Key: one effect, replayed answer, 422 for another body', async () => {
  let effects = 0;
  const route: Route = { method: 'POST', path: '/v1/things', action: 'things.create', auth: 'required', handle: async () => ({ status: 201, body: { n: ++effects } }) };
  const handler = createHttpHandler([route], deps());
  const send = async (body: unknown) => {
    const { res, out } = fakeRes();
    await handler(fakeReq('POST', '/v1/things', { 'idempotency-key': 'k1' }, body), res);
    return out;
  };
  const a = await send({ x: 1, y: 2 });
  const b = await send({ y: 2, x: 1 });
  expect([a.status, b.status, effects]).toEqual([201, 201, 1]);
  expect(b.headers['idempotent-replayed']).toBe('true');
  expect(JSON.parse(b.body)).toEqual({ n: 1 });
  const c = await send({ x: 2 });
  expect(c.status).toBe(422);
  expect(JSON.parse(c.body).type).toBe('https://tsi.dev/problems/idempotency-key-reused');
});

test('ETag on the read, 412 for a stale If-Match, the update runs on a fresh one', async () => {
  let version = '2026-01-01T00:00:00Z';
  const read: Route = { method: 'GET', path: '/v1/things/{id}', action: 'r', auth: 'none', handle: async () => ({ status: 200, body: { id: 't', updated_at: version } }) };
  const update: Route = {
    method: 'PATCH', path: '/v1/things/{id}', action: 'u', auth: 'none',
    version: async () => ({ id: 't', updated_at: version }),
    handle: async (ctx) => {
      ctx.precondition?.check({ id: 't', updated_at: version });
      version = '2026-02-01T00:00:00Z';
      return { status: 200, body: { id: 't', updated_at: version } };
    },
  };
  const handler = createHttpHandler([read, update], deps());
  const call = async (method: string, headers: Record<string, string> = {}) => {
    const { res, out } = fakeRes();
    await handler(fakeReq(method, '/v1/things/t', headers, method === 'PATCH' ? {} : undefined), res);
    return out;
  };
  const etag = (await call('GET')).headers.etag!;
  expect(etag).toMatch(/^".+"$/);
  const ok = await call('PATCH', { 'if-match': etag });
  expect(ok.status).toBe(200);
  expect(ok.headers.etag).not.toBe(etag);
  const stale = await call('PATCH', { 'if-match': etag });
  expect(stale.status).toBe(412);
  expect(JSON.parse(stale.body).type).toBe('https://tsi.dev/problems/precondition-failed');
});

test('Idempotency-Key sent 20 times at once: one run, the others replay it or hear it is in progress', async () => {
  let effects = 0;
  let finish: () => void = () => undefined;
  const gate = new Promise<void>((r) => (finish = r));
  const route: Route = {
    method: 'POST', path: '/v1/slow', action: 'slow', auth: 'required',
    handle: async () => { effects++; await gate; return { status: 201, body: { n: effects } }; },
  };
  const handler = createHttpHandler([route], deps());
  const send = async () => {
    const { res, out } = fakeRes();
    await handler(fakeReq('POST', '/v1/slow', { 'idempotency-key': 'same' }, { a: 1 }), res);
    return out;
  };
  const first = send();
  const early = await Promise.all(Array.from({ length: 19 }, send));
  // The first is still running: every duplicate waited a little, then got 409 with Retry-After.
  expect(early.map((o) => o.status)).toEqual(Array(19).fill(409));
  expect(JSON.parse(early[0]!.body).type).toBe('https://tsi.dev/problems/idempotency-key-in-progress');
  expect(early[0]!.headers['retry-after']).toBe('1');
  expect(effects).toBe(1);
  finish();
  expect((await first).status).toBe(201);
  const later = await send();
  expect(later.headers['idempotent-replayed']).toBe('true');
  expect(effects).toBe(1);
});

test('a failed run gives its Idempotency-Key back, so the retry runs', async () => {
  let calls = 0;
  const route: Route = {
    method: 'POST', path: '/v1/flaky', action: 'flaky', auth: 'required',
    handle: async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
      if (calls === 2) return { status: 400, body: { nope: true } };
      return { status: 201, body: { ok: calls } };
    },
  };
  const handler = createHttpHandler([route], deps());
  const send = async () => {
    const { res, out } = fakeRes();
    await handler(fakeReq('POST', '/v1/flaky', { 'idempotency-key': 'k' }, {}), res);
    return out.status;
  };
  expect([await send(), await send(), await send(), await send()]).toEqual([500, 400, 201, 201]);
  expect(calls).toBe(3);
});

test('a route that declares version but whose write ignores the precondition is refused', async () => {
  const update: Route = {
    method: 'PATCH', path: '/v1/things/{id}', action: 'u', auth: 'none',
    version: async () => ({ id: 't', updated_at: 'v1' }),
    handle: async () => ({ status: 200, body: { id: 't', updated_at: 'v2' } }),
  };
  const { res, out } = fakeRes();
  await createHttpHandler([update], deps())(fakeReq('PATCH', '/v1/things/t', { 'if-match': '*' }, {}), res);
  expect(out.status).toBe(500);
});

test('store contention (ABORTED) and exhaustion (RESOURCE_EXHAUSTED) answer 503 with Retry-After, not 500', async () => {
  for (const code of [10, 8]) {
    const route: Route = {
      method: 'POST', path: '/v1/busy', action: 'busy', auth: 'none',
      handle: async () => { throw Object.assign(new Error('10 ABORTED: Too much contention on these documents'), { code }); },
    };
    const { res, out } = fakeRes();
    await createHttpHandler([route], deps())(fakeReq('POST', '/v1/busy', {}, {}), res);
    expect(out.status).toBe(503);
    expect(out.headers['content-type']).toBe('application/problem+json');
    expect(out.headers['retry-after']).toBe('1');
    expect(JSON.parse(out.body)).toMatchObject({ type: 'https://tsi.dev/problems/store-busy', status: 503 });
    expect(out.body).not.toContain('contention on these documents');
  }
});
