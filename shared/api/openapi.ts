import { z } from 'zod';
import type { ResponseSpec, Route } from '../platform/http.js';
import { IDEMPOTENCY_KEY_PATTERN } from '../platform/idempotency.js';
import { rateLimitClassOf } from '../limits/route-limits.js';

/**
 * The OpenAPI 3.1 document of the API, generated from the route table: the same zod objects the
 * handlers validate with (`route.request`) and the response schemas they declare. There is no
 * second, hand-written copy (docs/decisions/0013).
 */
export const API_VERSION = '1.0.0';
type Json = Record<string, unknown>;

export const ProblemSchema = z
  .looseObject({
    type: z.string().describe('Stable problem type, `https://tsi.dev/problems/<slug>`.'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('validation-failed: one entry per invalid field.'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

const COMMON_ERRORS: Record<number, string> = {
  400: 'Invalid request (`validation-failed`, `malformed-request`, `invalid-path`).',
  401: 'Missing or invalid bearer token (`unauthenticated`).',
  403: 'The caller\'s roles do not grant the permission (`forbidden`).',
  429: 'Rate limited (`rate-limited`); honour `Retry-After`.',
  500: 'Internal error; quote `request_id`.',
  503: 'A dependency is unavailable or busy (`unavailable`, `store-busy`, `warehouse-busy`); retry after `Retry-After`.',
};

interface Converted {
  schema: Json;
  defs: Record<string, Json>;
}

function convert(schema: z.ZodType, io: 'input' | 'output'): Converted {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', reused: 'inline' }) as Json;
  const defs = (out.$defs ?? {}) as Record<string, Json>;
  delete out.$defs;
  delete out.$schema;
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' ? x.replace('#/$defs/', '#/components/schemas/') : rewrite(x)]),
      );
    }
    return v;
  };
  return { schema: rewrite(out) as Json, defs: Object.fromEntries(Object.entries(defs).map(([k, d]) => [k, rewrite(d) as Json])) };
}

function isZod(v: unknown): v is z.ZodType {
  return !!v && typeof v === 'object' && '_zod' in v;
}

/** `/v1/investigations/{id}:cancel` → ['id']. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}

export function buildOpenApi(routes: readonly Route[], opts: { title?: string; serverUrl?: string } = {}): Json {
  const components: Record<string, Json> = {};
  const use = (schema: z.ZodType, io: 'input' | 'output'): Json => {
    const c = convert(schema, io);
    Object.assign(components, c.defs);
    return c.schema;
  };
  use(ProblemSchema, 'output');
  const problemRef = { $ref: '#/components/schemas/Problem' };
  const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemRef } } });

  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    if (route.internal) continue;
    const parameters: Json[] = [];
    const paramShapes = route.request?.params ? (use(route.request.params, 'input').properties as Record<string, Json> | undefined) : undefined;
    for (const name of pathParams(route.path)) {
      parameters.push({ name, in: 'path', required: true, schema: paramShapes?.[name] ?? { type: 'string' } });
    }
    if (route.request?.query) {
      const q = use(route.request.query, 'input');
      const required = new Set((q.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((q.properties ?? {}) as Record<string, Json>)) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: 'query', required: required.has(name), schema: rest, ...(description ? { description } : {}) });
      }
    }
    if (route.method === 'POST') {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: 'Makes the POST safe to retry: the same key with the same body replays the first response (`Idempotent-Replayed: true`); with a different body it is 422 `idempotency-key-reused`; while the first request with the key is still running it is 409 `idempotency-key-in-progress` (retry after `Retry-After`). Keys are per principal and path, kept 7 days.',
        schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN.source },
      });
    }
    if (route.version) {
      parameters.push({
        name: 'If-Match',
        in: 'header',
        required: false,
        description: 'ETag from the last read; a stale one is 412 `precondition-failed` and nothing changes.',
        schema: { type: 'string' },
      });
    }

    const responses: Record<string, Json> = {};
    for (const [status, declared] of Object.entries(route.responses ?? {})) {
      const spec: ResponseSpec = declared === null ? {} : isZod(declared) ? { schema: declared } : declared;
      const headers: Json = {};
      for (const [h, d] of Object.entries(spec.headers ?? {})) headers[h] = { description: d, schema: { type: 'string' } };
      if (route.deprecated) {
        headers.Deprecation = { description: 'When this route was deprecated (RFC 9745).', schema: { type: 'string' } };
        headers.Sunset = { description: 'When this route stops answering (RFC 8594).', schema: { type: 'string' } };
      }
      const body = declared === null ? undefined : { [spec.contentType ?? 'application/json']: spec.schema ? { schema: use(spec.schema, 'output') } : {} };
      responses[status] = {
        description: spec.description ?? (declared === null ? 'No content.' : 'Success.'),
        ...(Object.keys(headers).length ? { headers } : {}),
        ...(body ? { content: body } : {}),
      };
    }
    const errors: Record<number, string> = { ...COMMON_ERRORS };
    if (route.auth === 'none') {
      delete errors[401];
      delete errors[403];
    }
    if (pathParams(route.path).length) errors[404] = 'No such resource, or one the caller may not see (`not-found`).';
    if (route.version) errors[412] = 'If-Match does not match the current ETag (`precondition-failed`).';
    if (route.method === 'POST') errors[422] = 'Idempotency-Key reused with a different body (`idempotency-key-reused`), or a refused request.';
    if (route.method !== 'GET' || pathParams(route.path).length) errors[409] = 'Conflicts with the resource\'s current state (e.g. `invalid-transition`, `report-not-ready`).';
    // Any request may carry a body or a Content-Encoding, and the kit refuses those before routing.
    errors[413] = 'Body too large (`payload-too-large`).';
    errors[415] = 'Body is not JSON (`unsupported-media-type`), or is compressed (`unsupported-content-encoding`: send it uncompressed).';
    for (const [status, description] of Object.entries(errors)) responses[status] ??= problemResponse(description);

    const operation: Json = {
      operationId: route.action,
      ...(route.summary ? { summary: route.summary } : {}),
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags ?? [route.path.split('/')[2]?.replace(/[{:].*$/, '') || 'platform'],
      ...(parameters.length ? { parameters } : {}),
      ...(route.request?.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: use(route.request.body, 'input') } } } }
        : {}),
      responses,
      security: route.auth === 'required' ? [{ bearer: [] }] : [],
      // Per-principal rate-limit class (docs/operations.md "Rate limits"); absent: not limited.
      ...(rateLimitClassOf(route) ? { 'x-rate-limit': rateLimitClassOf(route) } : {}),
      ...(route.deprecated
        ? {
            deprecated: true,
            'x-sunset': route.deprecated.sunset.toISOString(),
            ...(route.deprecated.successor ? { 'x-successor': route.deprecated.successor } : {}),
          }
        : {}),
    };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: opts.title ?? 'TSI — Trust & Safety investigation platform API',
      version: API_VERSION,
      description: [
        'Versioned REST API (`/v1`). Conventions for every route:',
        '- Authentication: `Authorization: Bearer <Google ID token>` (locally: a token from `POST /_local/token`).',
        '- Errors: RFC 9457 `application/problem+json` with a stable `type`.',
        '- Lists: `page_size` (bounded) and `page_token`; answers carry `items` and `next_page_token` (null on the last page).',
        '- POST: `Idempotency-Key` replays the first response; a different body under the same key is 422.',
        '- Reads of one resource carry an `ETag`; updates accept `If-Match` (stale → 412).',
        '- Unknown body and query fields are rejected (400).',
        '- Versioning: `/v1` only changes compatibly; breaking changes go to `/v2`. Deprecated routes answer with `Deprecation`, `Sunset` and `Link: rel="successor-version"` headers.',
      ].join('\n'),
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Google-signed ID token (audience: the API URL).' } },
    },
  };
}
