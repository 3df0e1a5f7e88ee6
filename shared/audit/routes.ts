import type { Route } from '../platform/http.js';
import { AuditPageSchema } from '../api/responses.js';
import { AuditQuerySchema, type AuditLog } from './model.js';

const AuditQueryStrict = AuditQuerySchema.strict();

/** Compliance reads the audit trail by actor, resource, action and time range. */
export function auditRoutes(audit: AuditLog): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/audit',
      action: 'audit.read',
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'Query the audit trail by actor, resource, action and time range',
      tags: ['audit'],
      request: { query: AuditQueryStrict },
      responses: { 200: AuditPageSchema },
      async handle(ctx) {
        ctx.require('audit.read');
        const q = ctx.queryOf(AuditQueryStrict);
        ctx.resource = 'audit';
        return { status: 200, body: await audit.query(q) };
      },
    },
  ];
}
