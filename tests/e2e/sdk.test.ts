import { ApiError, TsiClient, localToken } from '../../packages/sdk/src/index.js';
import { startTestStack, type TestStack } from './harness.js';

/** The SDK against the running local stack: what another team would do with it. */
let stack: TestStack;
let client: TsiClient;

beforeAll(async () => {
  stack = await startTestStack({ TSI_RATE_CREATE_PER_MINUTE: '4' });
  client = new TsiClient({ baseUrl: stack.url, auth: localToken({ baseUrl: stack.url, email: 'analyst@example.com' }) });
});
afterAll(async () => {
  await stack.destroy();
});

test('create, then wait with progress until it completes', async () => {
  const created = await client.createInvestigation({ subject: { type: 'email', value: 'ban.evader@example.com' } });
  expect(created.status).toBe('queued');
  const statuses: string[] = [];
  const done = await client.waitForInvestigation(created.id, { pollIntervalMs: 100, timeoutMs: 60_000, onProgress: (i) => statuses.push(i.status) });
  expect(done.status).toBe('completed');
  expect(done.findings.length).toBeGreaterThan(0);
  expect(statuses.at(-1)).toBe('completed');
  expect(done.subject.masked).toBe(true);
});

test('the list iterator walks every page', async () => {
  await client.createInvestigation({ subject: { type: 'email', value: 'clean.user@example.com' } });
  const ids: string[] = [];
  for await (const item of client.investigations({ page_size: 1 })) ids.push(item.id);
  expect(ids.length).toBeGreaterThanOrEqual(2);
  expect(new Set(ids).size).toBe(ids.length);
});

test('problems arrive as typed errors', async () => {
  const missing = await client.getInvestigation('inv_does_not_exist').catch((e) => e);
  expect(missing).toBeInstanceOf(ApiError);
  expect(missing.status).toBe(404);
  expect(missing.code).toBe('not-found');
  const invalid = await client.createInvestigation({ subject: { type: 'email', value: 'not-an-email' } }).catch((e) => e);
  expect(invalid.code).toBe('validation-failed');
  expect(invalid.problem.errors[0].path).toBe('body.subject.value');
  const viewer = client.withAuth(localToken({ baseUrl: stack.url, email: 'viewer@example.com' }));
  await expect(viewer.createInvestigation({ subject: { type: 'ip', value: '203.0.113.77' } })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
});

test('a 429 is retried after the Retry-After the platform sent', async () => {
  const waits: number[] = [];
  const patient = new TsiClient({
    baseUrl: stack.url,
    auth: localToken({ baseUrl: stack.url, email: 'analyst2@example.com' }),
    // No real waiting in a test: record the wait, and allow one retry only.
    sleep: async (ms) => void waits.push(ms),
    retry: { retries: 1, maxDelayMs: 120_000 },
  });
  const subject = { type: 'ip' as const, value: '203.0.113.77' };
  // The limit is a fixed window: keep creating until one answer is a 429 that survived its retry.
  let error: any = null;
  for (let i = 0; i < 12 && !error; i++) error = await patient.createInvestigation({ subject }).then(() => null, (e) => e);
  expect(error).toBeInstanceOf(ApiError);
  expect(error.status).toBe(429);
  expect(waits.length).toBeGreaterThan(0);
  // The SDK waited what the first 429 asked for; the retry's answer asks for (about) the rest of the same window.
  expect(Math.abs(waits.at(-1)! - error.retryAfterSeconds * 1000)).toBeLessThanOrEqual(1000);
  expect(error.retryAfterSeconds).toBeGreaterThan(0);
});
