import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { apiRoutes } from '../../functions/api/index.js';
import { startTestStack, type TestStack } from './harness.js';

/**
 * Requests the Functions Framework itself cannot read (bad JSON, compressed or oversize bodies)
 * and paths no id can have: each is a 400/413/415 problem+json from the one HTTP kit, with a
 * request id and an audit record — never the framework's HTML page, never a 500.
 */
let stack: TestStack;
let analyst: string;
let compliance: string;
let investigationId: string;

beforeAll(async () => {
  stack = await startTestStack({ TSI_MAX_BODY_BYTES: '4096' });
  analyst = await stack.token('analyst@example.com');
  compliance = await stack.token('compliance@example.com');
  const created = await stack.call('POST', '/v1/investigations', { token: analyst, body: { subject: { type: 'email', value: 'clean.user@example.com' } } });
  expect(created.status).toBe(202);
  investigationId = created.body.id;
});
afterAll(async () => {
  await stack.destroy();
});

/** A raw request: fetch cannot send a false Content-Encoding or a body on every method. */
function raw(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    // The path exactly as given: a URL object would remove dot segments before sending.
    // Content-Length always: Node's client sends a GET/DELETE body unframed otherwise.
    const length = body === undefined || headers['transfer-encoding'] ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest({ host: '127.0.0.1', port: stack.port, path, method, headers: { ...length, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The audit record of one request, read from the audit file as an auditor would. */
function auditedWith(requestId: string): { status: number; outcome: string; path: string } | undefined {
  const lines = readFileSync(join(stack.dataDir, 'audit', 'audit.jsonl'), 'utf8').split('\n').filter(Boolean);
  return lines.map((l) => JSON.parse(l)).find((r) => r.request_id === requestId);
}

function expectProblem(res: { status: number; headers: Record<string, string | string[] | undefined>; text: string }, status: number, type: string) {
  expect(res.status).toBe(status);
  expect(String(res.headers['content-type'])).toContain('application/problem+json');
  const body = JSON.parse(res.text);
  expect(body.type).toBe(`https://tsi.dev/problems/${type}`);
  expect(res.text).not.toMatch(/<html|<pre|at .*\.[jt]s:\d+|node_modules|\/work\//i);
  expect(res.headers['x-request-id']).toBeTruthy();
  return body;
}

describe('what the framework cannot read is answered and audited by the kit', () => {
  const auth = () => ({ authorization: `Bearer ${analyst}` });
  const cases: [string, () => Promise<Awaited<ReturnType<typeof raw>>>, number, string][] = [
    ['malformed JSON', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json' }, '{"subject": '), 400, 'malformed-request'],
    ['JSON with a bad charset', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json; charset=klingon' }, '{}'), 415, 'unsupported-media-type'],
    ['a declared oversize body', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json' }, JSON.stringify({ q: 'x'.repeat(10_000) })), 413, 'payload-too-large'],
    ['an oversize body sent chunked', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, JSON.stringify({ q: 'x'.repeat(10_000) })), 413, 'payload-too-large'],
    ['a gzip body', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync('{}')), 415, 'unsupported-content-encoding'],
    ['a plain body labelled gzip', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json', 'content-encoding': 'gzip' }, '{}'), 415, 'unsupported-content-encoding'],
    ['a plain body labelled br', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json', 'content-encoding': 'br' }, '{}'), 415, 'unsupported-content-encoding'],
    ['a plain body labelled deflate', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json', 'content-encoding': 'deflate' }, '{}'), 415, 'unsupported-content-encoding'],
    ['an unknown encoding', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json', 'content-encoding': 'xyz' }, '{}'), 415, 'unsupported-content-encoding'],
    ['a GET labelled gzip', () => raw('GET', '/v1/investigations', { ...auth(), 'content-encoding': 'gzip' }), 415, 'unsupported-content-encoding'],
    ['invalid UTF-8 in a JSON body', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json' }, Buffer.from([0x7b, 0x22, 0x71, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])), 400, 'malformed-request'],
    ['a text body', () => raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'text/plain' }, 'subject=x'), 415, 'unsupported-media-type'],
    ['an unknown route', () => raw('GET', '/v2/nothing-here', auth()), 404, 'route-not-found'],
    ['bad percent-encoding', () => raw('GET', '/v1/investigations/%E0', auth()), 400, 'invalid-path'],
    ['bad UTF-8 in a path', () => raw('GET', '/v1/investigations/%C3%28', auth()), 400, 'invalid-path'],
  ];
  it.each(cases)('%s', async (_name, send, status, type) => {
    const res = await send();
    expectProblem(res, status, type);
    expect(auditedWith(String(res.headers['x-request-id']))).toMatchObject({ status, outcome: 'rejected' });
  });

  it.each(['latin1', 'utf-16', 'us-ascii', 'UTF-8'])('a JSON body declaring charset=%s is read or refused, never a 500', async (charset) => {
    const res = await raw('POST', `/v1/investigations/${investigationId}/comments`, { authorization: `Bearer ${analyst}`, 'content-type': `application/json; charset=${charset}` }, '{"body":"x"}');
    expect(res.status).toBeLessThan(500);
    if (res.status >= 400) expect(String(res.headers['content-type'])).toContain('application/problem+json');
  });

  it('a body declared larger than the limit is refused before the framework waits to read it', async () => {
    // Content-Length 8000 > 4096 with only a few bytes sent: refused from the header alone, at once.
    const res = await raw('POST', '/v1/investigations', { ...auth(), 'content-type': 'application/json', 'content-length': '8000' }, '{"a":1}');
    expectProblem(res, 413, 'payload-too-large');
  });

  it('the stack still serves normal requests after them', async () => {
    const res = await stack.call('GET', `/v1/investigations/${investigationId}`, { token: analyst });
    expect(res.status).toBe(200);
  });
});

describe('every {id} of every route passes the one id schema before it touches a store path', () => {
  const hostileIds: [string, string][] = [
    ['an encoded slash', 'a%2Fb'],
    ['a path into a subcollection', `{R}%2Fcomments%2Fc1`],
    ['dot-dot', '..'],
    ['encoded dot-dot', '%2E%2E'],
    ['a single dot', '.'],
    ['a reserved name', '__name__'],
    ['an over-long id', 'a'.repeat(201)],
    ['a control character', 'a%00b'],
    ['a unicode lookalike', 'inv_%D0%B0'],
  ];

  it('covers every route with a path id', async () => {
    // The route table only needs a runtime to bind handlers; its paths are what is walked here.
    const routes = apiRoutes(stack.runtime).filter((r) => /\{\w+\}/.test(r.path));
    expect(routes.length).toBeGreaterThan(15);
    const failures: string[] = [];
    for (const route of routes) {
      for (const [name, id] of hostileIds) {
        const path = route.path.replace(/\{\w+\}/g, id!.replace('{R}', investigationId));
        const res = await raw(route.method, path, { authorization: `Bearer ${compliance}`, 'content-type': 'application/json' }, route.method === 'GET' ? undefined : '{}');
        const body = (() => {
          try {
            return JSON.parse(res.text);
          } catch {
            return null;
          }
        })();
        const type = String(body?.type ?? '').split('/').pop() ?? '';
        const ok =
          ((res.status === 400 && type === 'invalid-path') || (res.status === 404 && /not-found$/.test(type))) &&
          String(res.headers['content-type']).includes('application/problem+json') &&
          !/investigation_id|subject_hash|created_by|comments\//.test(res.text) &&
          auditedWith(String(res.headers['x-request-id'])) !== undefined;
        if (!ok) failures.push(`${route.method} ${route.path} with ${name}: ${res.status} ${res.text.slice(0, 160)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('the comment addressed through an encoded path still exists', async () => {
    await stack.call('POST', `/v1/investigations/${investigationId}/comments`, { token: analyst, body: { body: 'kept' } });
    const listed = await stack.call('GET', `/v1/investigations/${investigationId}/comments`, { token: analyst });
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).toContain('kept');
  });
});
