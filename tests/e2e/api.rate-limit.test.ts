import { startTestStack, type TestStack } from './harness.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ TSI_RATE_CREATE_PER_MINUTE: '3' });
});
afterAll(async () => {
  await stack.destroy();
});

it('limits investigation creation per principal with 429 and Retry-After', async () => {
  const analyst = await stack.token('analyst@example.com');
  const lead = await stack.token('lead@example.com');
  stack.bus.pause('investigation-worker');
  const body = { subject: { type: 'user_id', value: 'u_rate' } };
  // Limit 3 per minute: eight attempts hit the limit even if a minute boundary falls in between.
  let refused: Awaited<ReturnType<TestStack['call']>> | null = null;
  for (let i = 0; i < 8 && !refused; i++) {
    const res = await stack.call('POST', '/v1/investigations', { token: analyst, body });
    if (res.status === 429) refused = res;
    else expect(res.status).toBe(202);
  }
  expect(refused).not.toBeNull();
  expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(refused!.body.type).toBe('https://tsi.dev/problems/rate-limited');
  // Another principal has its own budget.
  expect((await stack.call('POST', '/v1/investigations', { token: lead, body })).status).toBe(202);
  stack.bus.resume('investigation-worker');
});
