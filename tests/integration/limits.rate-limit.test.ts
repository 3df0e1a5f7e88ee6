import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { RateLimiter } from '../../shared/limits/rate-limiter.js';
import { rateLimitsFrom, routeRateLimiter } from '../../shared/limits/route-limits.js';
import { loadConfig } from '../../shared/platform/config.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { RateLimitedError } from '../../shared/platform/errors.js';
import { createHttpHandler, type RequestAudit, type Route } from '../../shared/platform/http.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/** The per-principal limiter on the real Firestore client (embedded emulator), through the HTTP kit. */
let server: LocalFirestoreServer;
let db: Firestore;
let dir: string;
const clock = new ManualClock(new Date('2026-03-01T09:00:10Z'));

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-limits-'));
  server = new LocalFirestoreServer({ dataDir: dir, logger: new Logger({}, () => {}) });
  const { host, port } = await server.start(0);
  db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
});
afterAll(async () => {
  await db.terminate();
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('RateLimiter under concurrency', () => {
  it.each([10, 60])('N + 5 parallel takes with limit N: exactly N allowed, 5 refused with Retry-After', async (n) => {
    const limiter = new RateLimiter(db, clock);
    const results = await Promise.allSettled(Array.from({ length: n + 5 }, () => limiter.take(`p${n}@example.com`, 'route:write', n)));
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(n);
    expect(refused).toHaveLength(5);
    for (const r of refused) expect(r.reason).toBeInstanceOf(RateLimitedError);
    expect((refused[0]!.reason as RateLimitedError).headers['Retry-After']).toBe('50');
  });
});

describe('the kit enforces the route\'s declared limit', () => {
  const audits: RequestAudit[] = [];
  const comment: Route = {
    method: 'POST',
    path: '/v1/investigations/{id}/comments',
    action: 'investigations.comment',
    auth: 'required',
    handle: async () => ({ status: 201, body: { ok: true } }),
  };
  const list: Route = { method: 'GET', path: '/v1/things', action: 'things.list', auth: 'required', rateLimit: 'expensive-read', handle: async () => ({ status: 200, body: { items: [] } }) };
  const one: Route = { method: 'GET', path: '/v1/things/{id}', action: 'things.read', auth: 'required', handle: async () => ({ status: 200, body: {} }) };
  const config = loadConfig({ TSI_RATE_WRITE_PER_MINUTE: '60', TSI_RATE_EXPENSIVE_READ_PER_MINUTE: '5' });
  let handler: ReturnType<typeof createHttpHandler>;
  beforeAll(() => {
    handler = createHttpHandler([comment, list, one], {
    logger: new Logger({}, () => {}, 'ERROR'),
    clock,
    maxBodyBytes: 10_000,
    identify: async (headers) => ({ email: String(headers['x-user']), roles: ['analyst'], team: null, via: 'test', can: () => true }),
    rateLimit: routeRateLimiter(new RateLimiter(db, clock), rateLimitsFrom(config)),
    audit: async (r) => void audits.push(r),
    });
  });

  async function send(method: string, url: string, user: string) {
    const out = { status: 0, headers: {} as Record<string, string>, body: '' };
    const res = {
      headersSent: false,
      set statusCode(s: number) { out.status = s; },
      setHeader(k: string, v: string) { out.headers[k.toLowerCase()] = v; return res; },
      getHeader(k: string) { return out.headers[k.toLowerCase()]; },
      end(b?: string) { out.body = b ?? ''; },
    };
    const body = method === 'POST' ? Buffer.from('{"body":"x"}') : Buffer.alloc(0);
    await handler({ method, url, originalUrl: url, headers: { 'x-user': user, 'content-type': 'application/json' }, rawBody: body, ip: '203.0.113.5', socket: {} } as never, res as never);
    return out;
  }

  it('150 comments in a minute: 60 created, then 429 problem+json with Retry-After, each refusal audited', async () => {
    clock.set(new Date('2026-03-01T10:00:05Z'));
    const statuses: number[] = [];
    let last = { status: 0, headers: {} as Record<string, string>, body: '' };
    for (let i = 0; i < 150; i++) {
      last = await send('POST', '/v1/investigations/inv_1/comments', 'chatty@example.com');
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 60).every((s) => s === 201)).toBe(true);
    expect(statuses.slice(60).every((s) => s === 429)).toBe(true);
    expect(last.headers['retry-after']).toBe('55');
    expect(last.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(last.body)).toMatchObject({ type: 'https://tsi.dev/problems/rate-limited', status: 429, retry_after_seconds: 55 });
    const refusals = audits.filter((a) => a.actor === 'chatty@example.com' && a.status === 429);
    expect(refusals).toHaveLength(90);
    expect(refusals[0]).toMatchObject({ action: 'investigations.comment', outcome: 'rejected', reason: 'rate limit write: 60 per 60 s', source_ip: '203.0.113.5' });
    // Another principal has its own budget; the next window starts afresh.
    expect((await send('POST', '/v1/investigations/inv_1/comments', 'quiet@example.com')).status).toBe(201);
    clock.advance(60_000);
    expect((await send('POST', '/v1/investigations/inv_1/comments', 'chatty@example.com')).status).toBe(201);
  });

  it('lists share the expensive-read budget; reads of one resource are not limited', async () => {
    clock.set(new Date('2026-03-01T11:00:00Z'));
    const lists = [];
    for (let i = 0; i < 7; i++) lists.push((await send('GET', '/v1/things', 'reader@example.com')).status);
    expect(lists).toEqual([200, 200, 200, 200, 200, 429, 429]);
    for (let i = 0; i < 10; i++) expect((await send('GET', '/v1/things/t1', 'reader@example.com')).status).toBe(200);
  });
});
