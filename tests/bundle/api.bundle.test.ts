import { AUDIENCE, buildBundles, startBundle, startStandIns, type RunningBundle, type StandIns } from './harness.js';
import { GoogleSigningKeys } from '../../local/google-stand-ins.js';

/**
 * The api bundle as Cloud Functions runs it (see harness.ts): authenticated routes through the
 * production token verifier, and the refusals the framework itself would otherwise answer in HTML.
 */
let standIns: StandIns;
let api: RunningBundle;

beforeAll(async () => {
  buildBundles();
  standIns = await startStandIns();
  api = await startBundle('api', standIns.values);
}, 180_000);
afterAll(async () => {
  await api?.stop();
  await standIns?.stop();
});

async function call(method: string, path: string, opts: { as?: string; token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const token = opts.token ?? (opts.as ? standIns.token(opts.as) : undefined);
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${api.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', json, text, headers: res.headers };
}

describe('authenticated routes through the production verifier', () => {
  it('healthz and readyz answer', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    const ready = await call('GET', '/readyz');
    expect(ready.json.status).toBe('ready');
    expect(ready.status).toBe(200);
    // The BigQuery client took its credentials from the metadata server, as in Cloud Functions.
    expect(standIns.metadata.requests).toContain('/computeMetadata/v1/instance/service-accounts/default/token');
  });

  it('an analyst creates, reads, lists and comments; the event reaches Pub/Sub', async () => {
    const created = await call('POST', '/v1/investigations', { as: 'analyst@example.com', body: { subject: { type: 'email', value: 'clean.user@example.com' } } });
    expect(created.status).toBe(202);
    const id = created.json.id as string;
    const read = await call('GET', `/v1/investigations/${id}`, { as: 'analyst@example.com' });
    expect(read.status).toBe(200);
    // Decrypted with the subject's key, then masked for an analyst, as in the local stack.
    expect(read.json.subject.value).toBe('c***@example.com');
    const listed = await call('GET', '/v1/investigations', { as: 'analyst@example.com' });
    expect(listed.status).toBe(200);
    expect(listed.json.items.map((i: any) => i.id)).toContain(id);
    const comment = await call('POST', `/v1/investigations/${id}/comments`, { as: 'analyst@example.com', body: { body: 'looked at it' } });
    expect(comment.status).toBe(201);
    // Published through the real Pub/Sub client to the stand-in, with the attributes subscriptions filter on.
    const deadline = Date.now() + 15_000;
    while (!standIns.pubsub.published.some((m) => m.attributes.type === 'investigation.requested' && JSON.parse(m.data.toString()).data.investigation_id === id)) {
      if (Date.now() > deadline) throw new Error(`no investigation.requested published for ${id}; saw ${standIns.pubsub.published.map((m) => m.attributes.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('refuses a missing token, a token signed by another key, and the wrong audience', async () => {
    expect((await call('GET', '/v1/investigations')).status).toBe(401);
    const other = new GoogleSigningKeys();
    expect((await call('GET', '/v1/investigations', { token: other.idToken('analyst@example.com', AUDIENCE) })).status).toBe(401);
    expect((await call('GET', '/v1/investigations', { token: standIns.keys.idToken('analyst@example.com', 'https://elsewhere.test') })).status).toBe(401);
  });

  it('has no local token issuer', async () => {
    const res = await call('POST', '/_local/token', { body: { email: 'admin@example.com' } });
    expect(res.status).toBe(404);
    expect(res.type).toContain('application/problem+json');
  });

  it('a principal without a role binding is refused', async () => {
    const res = await call('GET', '/v1/investigations', { as: 'stranger@example.com' });
    expect([401, 403]).toContain(res.status);
  });
});

describe('refusals are the same problem+json as from npm start', () => {
  const cases: [string, () => ReturnType<typeof call>, number, string][] = [
    ['malformed JSON', () => call('POST', '/v1/investigations', { as: 'analyst@example.com', raw: '{"subject": ', headers: { 'content-type': 'application/json' } }), 400, 'malformed-request'],
    ['an oversize body', () => call('POST', '/v1/investigations', { as: 'analyst@example.com', body: { q: 'x'.repeat(100_000) } }), 413, 'payload-too-large'],
    ['a wrong content type', () => call('POST', '/v1/investigations', { as: 'analyst@example.com', raw: 'subject=x', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported-media-type'],
    ['a compressed body', () => call('POST', '/v1/investigations', { as: 'analyst@example.com', raw: '{}', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }), 415, 'unsupported-content-encoding'],
    ['an unknown route', () => call('GET', '/v2/nothing', { as: 'analyst@example.com' }), 404, 'route-not-found'],
    ['a bad path id', () => call('GET', '/v1/investigations/a%2Fb', { as: 'analyst@example.com' }), 400, 'invalid-path'],
    ['bad percent-encoding', () => call('GET', '/v1/investigations/%E0', { as: 'analyst@example.com' }), 400, 'invalid-path'],
  ];
  it.each(cases)('%s', async (_name, send, status, type) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.type).toContain('application/problem+json');
    expect(res.json.type).toBe(`https://tsi.dev/problems/${type}`);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.text).not.toMatch(/<html|<pre|node_modules|at .*\.js:\d+/i);
  });

  it('the bundle logged no personal data or token', () => {
    expect(api.output()).not.toMatch(/clean\.user@example\.com|eyJ[\w-]+\.eyJ/);
  });
});
