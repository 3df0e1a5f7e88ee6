import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRoutes } from '../../functions/api/index.js';
import { buildOpenApi } from '../../shared/api/openapi.js';
import { rateLimitClassOf, rateLimitsFrom } from '../../shared/limits/route-limits.js';
import { loadConfig } from '../../shared/platform/config.js';
import type { Route } from '../../shared/platform/http.js';
import { buildRuntime } from '../../shared/runtime/index.js';

/**
 * Rate limits are a declared property of every route (0043): walks the api function's route
 * table (nothing is connected: every client is created on first use, and none is used here).
 */
const dir = mkdtempSync(join(tmpdir(), 'tsi-limits-routes-'));
const publisher = { kind: 'local' as const, publish: async () => {}, ping: async () => {}, close: async () => {} };
const rt = buildRuntime(loadConfig({ TSI_DATA_DIR: dir }), { emulatorHost: '127.0.0.1:9', publisher });
const routes = apiRoutes(rt);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const name = (r: Route) => `${r.method} ${r.path}`;
const isListOrSearch = (r: Route) => {
  const shape = (r.request?.query as { shape?: Record<string, unknown> } | undefined)?.shape ?? {};
  return 'page_token' in shape || r.path.endsWith('/report');
};

describe('rate-limit classes', () => {
  it('writes default to write; reads are unlimited unless declared; no principal, no limit', () => {
    expect(rateLimitClassOf({ method: 'POST', auth: 'required' })).toBe('write');
    expect(rateLimitClassOf({ method: 'DELETE', auth: 'required' })).toBe('write');
    expect(rateLimitClassOf({ method: 'POST', auth: 'required', rateLimit: 'query' })).toBe('query');
    expect(rateLimitClassOf({ method: 'GET', auth: 'required' })).toBeNull();
    expect(rateLimitClassOf({ method: 'GET', auth: 'required', rateLimit: 'expensive-read' })).toBe('expensive-read');
    expect(rateLimitClassOf({ method: 'POST', auth: 'none' })).toBeNull();
  });

  it('reads its limits from config, with documented defaults', () => {
    expect(rateLimitsFrom(loadConfig({}))).toEqual({
      write: { limit: 60, windowMs: 60_000 },
      'expensive-read': { limit: 120, windowMs: 60_000 },
      query: { limit: 20, windowMs: 60_000 },
    });
    expect(rateLimitsFrom(loadConfig({ TSI_RATE_WRITE_PER_MINUTE: '7' })).write.limit).toBe(7);
    expect(() => loadConfig({ TSI_RATE_QUERY_PER_MINUTE: '0' })).toThrow(/TSI_RATE_QUERY_PER_MINUTE/);
  });
});

describe('the api route table', () => {
  it('limits every authenticated write', () => {
    const writes = routes.filter((r) => r.auth === 'required' && r.method !== 'GET');
    expect(writes.length).toBeGreaterThan(15);
    expect(writes.filter((r) => rateLimitClassOf(r) === null).map(name)).toEqual([]);
  });

  it('declares every list, search and report as an expensive read', () => {
    const expensive = routes.filter((r) => r.method === 'GET' && r.auth === 'required' && isListOrSearch(r));
    expect(expensive.map(name)).toEqual(expect.arrayContaining(['GET /v1/investigations', 'GET /v1/audit', 'GET /v1/investigations/{id}/report', 'GET /v1/investigations/{id}/comments']));
    expect(expensive.filter((r) => rateLimitClassOf(r) !== 'expensive-read').map(name)).toEqual([]);
  });

  it('names each route\'s class in the OpenAPI document', () => {
    const doc = buildOpenApi(routes) as { paths: Record<string, Record<string, Record<string, unknown>>> };
    expect(doc.paths['/v1/investigations/{id}/comments']!.post!['x-rate-limit']).toBe('write');
    expect(doc.paths['/v1/investigations']!.get!['x-rate-limit']).toBe('expensive-read');
    expect(doc.paths['/v1/investigations/{id}']!.get!['x-rate-limit']).toBeUndefined();
  });

  it('gives ad-hoc warehouse SQL its own budget', () => {
    expect(routes.filter((r) => rateLimitClassOf(r) === 'query').map(name)).toEqual(['POST /v1/investigations/{id}/queries']);
  });
});
