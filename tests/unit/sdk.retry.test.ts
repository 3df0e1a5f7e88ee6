import { ApiError, TsiClient, UnreachableError, parseRetryAfter, retryDelay, DEFAULT_RETRY } from '../../packages/sdk/src/index.js';

/** The SDK's retry policy, driven through its client with an injected fetch and clock (no real waiting). */
function scripted(answers: (() => Response | Error)[]) {
  const calls: { url: string; headers: Record<string, string> }[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, headers: init.headers as Record<string, string> });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    const a = next();
    if (a instanceof Error) throw a;
    return a;
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers } });

describe('retries', () => {
  test('429 then success: waits exactly Retry-After and reuses the idempotency key', async () => {
    const { fetch, calls } = scripted([json(429, { title: 'Too many requests', status: 429 }, { 'Retry-After': '7' }), json(202, { id: 'inv_1', status: 'queued' })]);
    const waits: number[] = [];
    const client = new TsiClient({ baseUrl: 'http://api', auth: 't', fetch, sleep: async (ms) => void waits.push(ms) });
    const created = await client.createInvestigation({ subject: { type: 'email', value: 'a@example.com' } });
    expect(created.id).toBe('inv_1');
    expect(waits).toEqual([7000]);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.headers['Idempotency-Key']).toBeTruthy();
    expect(calls[1]!.headers['Idempotency-Key']).toBe(calls[0]!.headers['Idempotency-Key']);
    expect(calls[0]!.headers.Authorization).toBe('Bearer t');
  });

  test('503 without Retry-After backs off exponentially with jitter, then gives up with the problem', async () => {
    const problem = json(503, { type: 'https://tsi.dev/problems/unavailable', title: 'Service unavailable', status: 503 });
    const { fetch, calls } = scripted([problem, problem, problem, problem]);
    const waits: number[] = [];
    const client = new TsiClient({ baseUrl: 'http://api', fetch, sleep: async (ms) => void waits.push(ms), retry: { random: () => 1 } });
    const error = await client.me().catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(503);
    expect(error.code).toBe('unavailable');
    expect(calls).toHaveLength(4);
    expect(waits).toEqual([300, 600, 1200]);
  });

  test('a Retry-After longer than the bound is not waited out: the caller gets the 429', async () => {
    const { fetch, calls } = scripted([json(429, { title: 'Too many requests', status: 429 }, { 'Retry-After': '3600' })]);
    const client = new TsiClient({ baseUrl: 'http://api', fetch, sleep: async () => undefined });
    const error = await client.me().catch((e) => e);
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBe(3600);
    expect(calls).toHaveLength(1);
  });

  test('client errors are not retried; connection refused is not retried either', async () => {
    const { fetch, calls } = scripted([json(409, { type: 'https://tsi.dev/problems/invalid-transition', title: 'Conflict', status: 409 })]);
    const client = new TsiClient({ baseUrl: 'http://api', fetch, sleep: async () => undefined });
    await expect(client.cancelInvestigation('x')).rejects.toMatchObject({ status: 409, code: 'invalid-transition' });
    expect(calls).toHaveLength(1);
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const s2 = scripted([() => refused]);
    const c2 = new TsiClient({ baseUrl: 'http://api', fetch: s2.fetch, sleep: async () => undefined });
    await expect(c2.me()).rejects.toBeInstanceOf(UnreachableError);
    expect(s2.calls).toHaveLength(1);
  });

  test('policy: jitter stays within [half, full] of the exponential step; Retry-After as an HTTP date', () => {
    expect(retryDelay(2, null, { ...DEFAULT_RETRY, random: () => 0 })).toBe(600);
    expect(retryDelay(2, null, { ...DEFAULT_RETRY, random: () => 1 })).toBe(1200);
    expect(retryDelay(3, null, DEFAULT_RETRY)).toBeNull();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5);
    expect(parseRetryAfter('soon', now)).toBeNull();
  });
});

describe('pagination and waiting', () => {
  test('the iterator follows next_page_token to the end', async () => {
    const { fetch, calls } = scripted([json(200, { items: [{ id: 'a' }, { id: 'b' }], next_page_token: 't1' }), json(200, { items: [{ id: 'c' }], next_page_token: null })]);
    const client = new TsiClient({ baseUrl: 'http://api', fetch });
    const ids: string[] = [];
    for await (const i of client.investigations({ page_size: 2 })) ids.push(i.id);
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(calls[1]!.url).toBe('http://api/v1/investigations?page_size=2&page_token=t1');
  });

  test('waitForInvestigation reports progress and tolerates a blip', async () => {
    const { fetch } = scripted([
      json(200, { id: 'x', status: 'queued', steps: [] }),
      json(502, { title: 'Bad gateway', status: 502 }),
      json(502, { title: 'Bad gateway', status: 502 }),
      json(502, { title: 'Bad gateway', status: 502 }),
      json(200, { id: 'x', status: 'running', steps: [] }),
      json(200, { id: 'x', status: 'completed', steps: [] }),
    ]);
    const client = new TsiClient({ baseUrl: 'http://api', fetch, sleep: async () => undefined, retry: { retries: 0 } });
    const seen: string[] = [];
    const errors: number[] = [];
    const done = await client.waitForInvestigation('x', { onProgress: (i) => seen.push(i.status), onPollError: (_e, n) => errors.push(n) });
    expect(done.status).toBe('completed');
    expect(seen).toEqual(['queued', 'running', 'completed']);
    expect(errors).toEqual([1, 2, 3]);
  });
});
