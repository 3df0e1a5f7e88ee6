import { startTestStack, waitFor, type TestStack } from './harness.js';

/** Ad-hoc SQL through the guard, over HTTP against the local stack. */
let stack: TestStack;
let lead: string;
let analyst: string;
let id: string;

beforeAll(async () => {
  stack = await startTestStack();
  lead = await stack.token('lead@example.com');
  analyst = await stack.token('analyst@example.com');
  const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'spiky.user@example.com' }, window_days: 30 } });
  id = created.body.id;
  await waitFor(stack, id, analyst);
});
afterAll(async () => {
  await stack.destroy();
});

const run = (token: string, body: unknown, inv = id) => stack.call('POST', `/v1/investigations/${inv}/queries`, { token, body });

describe('POST /v1/investigations/{id}/queries', () => {
  it('runs a lead\'s BigQuery SQL on the local warehouse and records it as a step with lineage', async () => {
    const res = await run(lead, {
      sql: 'SELECT user_id, SUM(characters) AS chars FROM fct_tts_usage WHERE event_ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 7 DAY) GROUP BY user_id ORDER BY chars DESC',
      max_rows: 5,
    });
    expect(res.status).toBe(200);
    expect(res.body.rows).toHaveLength(5);
    expect(res.body.truncated).toBe(true);
    expect(res.body.lineage).toMatchObject({ origin: 'adhoc', engine: 'duckdb', tables: ['fct_tts_usage'], columns: { fct_tts_usage: ['characters', 'event_ts', 'user_id'] }, cache_hit: false });
    const doc = await stack.call('GET', `/v1/investigations/${id}`, { token: lead });
    const step = doc.body.steps.find((s: { index: number }) => s.index === res.body.step);
    expect(step).toMatchObject({ kind: 'adhoc', status: 'ok', rows: 5, lineage: { sql_hash: res.body.lineage.sql_hash } });
  });

  it('refuses the 365-day SELECT * over usage, naming the rule and the estimate', async () => {
    const res = await run(lead, { sql: 'SELECT * FROM fct_tts_usage WHERE event_ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 365 DAY)' });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ type: expect.stringMatching(/warehouse-guard-refused$/), rule: 'select-star-on-fact', violations: ['select-star-on-fact', 'window-too-wide'], estimated_bytes: expect.any(Number), budget_bytes: 53687091200 });
    expect(res.body.estimated_bytes).toBeGreaterThan(0);
    expect(res.body.detail).toContain(`Estimated ${res.body.estimated_bytes} bytes`);
    const audit = await stack.call('GET', `/v1/audit?action=warehouse.query&resource=investigations/${id}`, { token: await stack.token('compliance@example.com') });
    const refused = audit.body.items.filter((r: { outcome: string; reason: string }) => r.outcome === 'denied' && r.reason === 'select-star-on-fact');
    expect(refused.length).toBeGreaterThan(0);
    // The guard's record of an ad-hoc query names the request behind it, like the request's own record.
    expect(refused[0]).toMatchObject({ source_ip: expect.stringMatching(/\d/), request_id: expect.any(String) });
  });

  it('takes typed parameters and refuses writes', async () => {
    const ok = await run(lead, { sql: 'SELECT COUNT(*) AS n FROM fct_payments WHERE payment_ts >= @since AND user_id IN UNNEST(@ids)', params: { since: { timestamp: new Date(Date.now() - 100 * 86_400_000).toISOString() }, ids: ['nobody'] } });
    expect(ok.status).toBe(200);
    expect(ok.body.rows).toEqual([{ n: 0 }]);
    const write = await run(lead, { sql: 'DELETE FROM dim_users WHERE TRUE' });
    expect(write.status).toBe(422);
    expect(write.body.rule).toBe('read-only');
  });

  it('is for leads only, and invisible investigations stay invisible', async () => {
    expect((await run(analyst, { sql: 'SELECT plan FROM dim_users' })).status).toBe(403);
    expect((await run(lead, { sql: 'SELECT plan FROM dim_users' }, 'inv_does_not_exist')).status).toBe(404);
  });

  it('is switched off for everyone by the adhoc_sql flag, and back on', async () => {
    const admin = await stack.token('admin@example.com');
    const flip = (enabled: boolean) => stack.call('PUT', '/v1/flags/adhoc_sql', { token: admin, body: { enabled, reason: 'e2e kill switch' } });
    expect((await flip(false)).status).toBe(200);
    const off = await run(lead, { sql: 'SELECT plan FROM dim_users' });
    expect(off.status).toBe(403);
    expect(off.body.type).toMatch(/feature-disabled$/);
    expect(off.body.flag).toBe('adhoc_sql');
    expect((await flip(true)).status).toBe(200);
    expect((await run(lead, { sql: 'SELECT plan FROM dim_users' })).status).toBe(200);
  });
});
