import { z } from 'zod';
import type { Route } from '../platform/http.js';
import { DOCS_CSP, renderDocs } from './docs.js';
import { buildOpenApi } from './openapi.js';

const OpenApiDocumentSchema = z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) });

/**
 * `GET /v1/openapi.json` and `GET /v1/docs`, generated (once, then cached) from the route table
 * they are mounted in. Unauthenticated: the contract is not a secret and integrators need it first.
 */
export function apiDocRoutes(routes: () => readonly Route[]): Route[] {
  let doc: Record<string, unknown> | null = null;
  let html: string | null = null;
  const document = () => (doc ??= buildOpenApi(routes()));
  return [
    {
      method: 'GET',
      path: '/v1/openapi.json',
      action: 'api.openapi',
      auth: 'none',
      summary: 'The OpenAPI 3.1 document of this API',
      tags: ['api'],
      request: {},
      responses: { 200: OpenApiDocumentSchema },
      async handle() {
        return { status: 200, body: document(), headers: { 'Cache-Control': 'public, max-age=300' } };
      },
    },
    {
      method: 'GET',
      path: '/v1/docs',
      action: 'api.docs',
      auth: 'none',
      summary: 'Readable API documentation (HTML, self-contained)',
      tags: ['api'],
      request: {},
      responses: { 200: { contentType: 'text/html', description: 'The documentation page.' } },
      async handle() {
        html ??= renderDocs(document());
        return { status: 200, text: html, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': DOCS_CSP, 'X-Content-Type-Options': 'nosniff' } };
      },
    },
  ];
}
