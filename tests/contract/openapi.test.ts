import { Ajv2020 } from 'ajv/dist/2020.js';
import { apiRoutes } from '../../functions/api/index.js';
import { startTestStack, type TestStack } from '../e2e/harness.js';
import { responseValidator } from './validate.js';

/**
 * The API contract: the served OpenAPI document lists exactly the routes the api function serves,
 * follows the conventions (pagination, Idempotency-Key, If-Match, strict bodies) everywhere, and
 * the responses of real requests validate against it.
 */
let stack: TestStack;
let doc: any;
let analyst = '';
let lead = '';
let admin = '';

beforeAll(async () => {
  stack = await startTestStack();
  doc = (await stack.call('GET', '/v1/openapi.json')).body;
  [analyst, lead, admin] = (await Promise.all(['analyst@example.com', 'lead@example.com', 'admin@example.com'].map((e) => stack.token(e)))) as [string, string, string];
});
afterAll(async () => {
  await stack.destroy();
});

const operations = () =>
  Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

describe('routes vs document', () => {
  test('every route the api function serves is in the document, and nothing else is', () => {
    const served = apiRoutes(stack.runtime)
      .filter((r) => !r.internal)
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    const documented = operations()
      .map((o) => `${o.method.toUpperCase()} ${o.path}`)
      .sort();
    expect(documented).toEqual(served);
    expect(served.length).toBeGreaterThan(35);
  });

  test('every route declares its request and its responses (the document is generated, not guessed)', () => {
    const undeclared = apiRoutes(stack.runtime).filter((r) => !r.request || !r.responses || !r.summary);
    expect(undeclared.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  test('the document is structurally valid OpenAPI 3.1', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toMatch(/^1\./);
    expect(doc.components.securitySchemes.bearer.scheme).toBe('bearer');
    const ids = operations().map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, op } of operations()) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name).sort();
      expect(declared).toEqual(templated);
      for (const p of op.parameters ?? []) if (p.in === 'path') expect(p.required).toBe(true);
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
      for (const r of Object.values(op.responses) as any[]) expect(typeof r.description).toBe('string');
    }
    // Every $ref resolves and every schema compiles as JSON Schema 2020-12.
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...doc, $id: 'urn:tsi:doc' });
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) {
      const target = ref.slice(8, -1).replace('#/', '');
      expect(target.split('/').reduce((o: any, k) => o?.[k], doc)).toBeDefined();
    }
    const esc = (p: string) => p.replace(/~/g, '~0').replace(/\//g, '~1');
    let compiled = 0;
    for (const { path, method, op } of operations()) {
      for (const [status, r] of Object.entries(op.responses) as [string, any][]) {
        for (const [type, c] of Object.entries(r.content ?? {}) as [string, any][]) {
          if (!c.schema) continue;
          expect(ajv.getSchema(`urn:tsi:doc#/paths/${esc(path)}/${method}/responses/${status}/content/${esc(type)}/schema`)).toBeDefined();
          compiled++;
        }
      }
    }
    expect(compiled).toBeGreaterThan(100);
  });

  test('documented conventions hold on every route', () => {
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      const params = (op.parameters ?? []) as any[];
      // Unknown body fields are rejected: every request body is a closed object.
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body) expect([where, body.additionalProperties]).toEqual([where, false]);
      if (method === 'post') expect([where, params.some((p) => p.name === 'Idempotency-Key' && p.in === 'header')]).toEqual([where, true]);
      // Lists: bounded page_size, page_token in; items and next_page_token out.
      const ok = op.responses['200']?.content?.['application/json']?.schema;
      if (method === 'get' && ok?.properties?.items && path !== '/v1/retention-policies') {
        const size = params.find((p) => p.name === 'page_size');
        expect([where, typeof size?.schema?.maximum]).toEqual([where, 'number']);
        expect([where, params.some((p) => p.name === 'page_token')]).toEqual([where, true]);
        expect([where, ok.required]).toEqual([where, expect.arrayContaining(['items', 'next_page_token'])]);
      }
      // Problems are documented as problem+json.
      expect(op.responses['500'].content['application/problem+json']).toBeDefined();
    }
    const cancel = doc.paths['/v1/investigations/{id}:cancel'].post;
    expect(cancel.parameters.some((p: any) => p.name === 'If-Match')).toBe(true);
    expect(cancel.responses['412']).toBeDefined();
  });

  test('GET /v1/docs renders every operation as self-contained HTML', async () => {
    const res = await stack.call('GET', '/v1/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(res.body).not.toMatch(/<script|https?:\/\/(?!tsi\.dev|json-schema\.org)/);
    for (const { op } of operations()) expect(res.body).toContain(`id="${op.operationId.replace(/[^A-Za-z0-9_-]/g, '-')}"`);
  });
});

describe('responses vs document', () => {
  test('responses of a tour through the API validate against the document', async () => {
    const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'ban.evader@example.com' } } });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    await stack.call('GET', `/v1/investigations/${id}`, { token: lead });
    await stack.call('GET', '/v1/investigations?page_size=2', { token: analyst });
    await stack.call('POST', `/v1/investigations/${id}/comments`, { token: analyst, body: { body: 'looking' } });
    await stack.call('GET', `/v1/investigations/${id}/comments`, { token: analyst });
    await stack.call('GET', '/v1/me', { token: analyst });
    await stack.call('GET', '/v1/role-bindings', { token: admin });
    await stack.call('GET', '/v1/flags', { token: admin });
    await stack.call('GET', '/v1/webhooks', { token: admin });
    await stack.call('GET', '/v1/webhooks/dead-letters', { token: admin });
    await stack.call('GET', '/v1/legal-holds', { token: await stack.token('compliance@example.com') });
    await stack.call('GET', '/v1/erasure-requests', { token: await stack.token('compliance@example.com') });
    await stack.call('GET', '/v1/retention-policies', { token: await stack.token('compliance@example.com') });
    await stack.call('GET', '/healthz');
    await stack.call('GET', '/readyz');
    await stack.call('GET', '/v1/investigations/nope', { token: analyst });
    await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'x@example.com' }, extra: 1 } });

    expect(await stack.contractViolations()).toEqual([]);
    const seen = new Set(stack.samples.map((s) => `${s.method} ${s.path}`));
    expect(seen.size).toBeGreaterThanOrEqual(14);
  });

  test('the check fails a response the document does not describe', () => {
    const check = responseValidator(doc);
    expect(check({ method: 'GET', path: '/v1/me', status: 200, contentType: 'application/json', body: { email: 'a@b.c', roles: [], team: null, permissions: [], extra: true } })).toMatch(/additional/);
    expect(check({ method: 'GET', path: '/v1/me', status: 200, contentType: 'application/json', body: { email: 1 } })).not.toBeNull();
    expect(check({ method: 'GET', path: '/v1/me', status: 299, contentType: 'application/json', body: {} })).toMatch(/not documented/);
    expect(check({ method: 'GET', path: '/v1/nothing', status: 200, contentType: 'application/json', body: {} })).toMatch(/not in the document/);
  });
});

describe('conventions at work', () => {
  test('Idempotency-Key on any POST: same body replays, a different body is 422', async () => {
    const { body: inv } = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'clean.user@example.com' } } });
    const headers = { 'Idempotency-Key': `c-${Date.now()}` };
    const first = await stack.call('POST', `/v1/investigations/${inv.id}/comments`, { token: analyst, body: { body: 'once' }, headers });
    const again = await stack.call('POST', `/v1/investigations/${inv.id}/comments`, { token: analyst, body: { body: 'once' }, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const list = await stack.call('GET', `/v1/investigations/${inv.id}/comments`, { token: analyst });
    expect(list.body.items.filter((c: any) => c.body === 'once')).toHaveLength(1);
    const other = await stack.call('POST', `/v1/investigations/${inv.id}/comments`, { token: analyst, body: { body: 'twice' }, headers });
    expect(other.status).toBe(422);
    expect(other.body.type).toBe('https://tsi.dev/problems/idempotency-key-reused');
    // Keys are per principal: the same key from someone else is a new request.
    const byLead = await stack.call('POST', `/v1/investigations/${inv.id}/comments`, { token: lead, body: { body: 'twice' }, headers });
    expect(byLead.status).toBe(201);
  });

  test('ETag on reads, If-Match on updates: a stale one is 412 and changes nothing', async () => {
    const { body: inv } = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'spiky.user@example.com' } } });
    const read = await stack.call('GET', `/v1/investigations/${inv.id}`, { token: analyst });
    const etag = read.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    await stack.call('POST', `/v1/investigations/${inv.id}/comments`, { token: analyst, body: { body: 'changes updated_at' } });
    const stale = await stack.call('POST', `/v1/investigations/${inv.id}:cancel`, { token: analyst, body: {}, headers: { 'If-Match': etag! } });
    expect(stale.status).toBe(412);
    expect(stale.body.type).toBe('https://tsi.dev/problems/precondition-failed');
    const fresh = await stack.call('GET', `/v1/investigations/${inv.id}`, { token: analyst });
    expect(fresh.headers.get('etag')).not.toBe(etag);
    expect(fresh.body.updated_at).toBe(fresh.body.updated_at);
  });

  test('unknown query parameters are rejected on list routes too', async () => {
    const res = await stack.call('GET', '/v1/flags?colour=blue', { token: admin });
    expect(res.status).toBe(400);
    const big = await stack.call('GET', '/v1/role-bindings?page_size=1000', { token: admin });
    expect(big.status).toBe(400);
  });

  test('cursor pagination walks a small list page by page', async () => {
    const first = await stack.call('GET', '/v1/role-bindings?page_size=2', { token: admin });
    expect(first.body.items).toHaveLength(2);
    expect(first.body.next_page_token).toEqual(expect.any(String));
    const second = await stack.call('GET', `/v1/role-bindings?page_size=2&page_token=${first.body.next_page_token}`, { token: admin });
    expect(second.body.items[0].email).not.toBe(first.body.items[1].email);
    const all = await stack.call('GET', '/v1/role-bindings?page_size=100', { token: admin });
    expect(all.body.next_page_token).toBeNull();
    expect(all.body.items.slice(0, 4).map((b: any) => b.email)).toEqual([...first.body.items, ...second.body.items].map((b: any) => b.email));
  });
});
