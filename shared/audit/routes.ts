import type { Route } from '../platform/http.js';
import { fromZod } from '../platform/problem.js';
import { AuditQuerySchema, type AuditLog } from './model.js';

/** Compliance reads the audit trail by actor, resource, action and time range. */
export function auditRoutes(audit: AuditLog): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/audit',
      action: 'audit.read',
      auth: 'required',
      async handle(ctx) {
        ctx.require('audit.read');
        const parsed = AuditQuerySchema.strict().safeParse(Object.fromEntries(ctx.query));
        if (!parsed.success) throw fromZod(parsed.error, 'query');
        ctx.resource = 'audit';
        return { status: 200, body: await audit.query(parsed.data) };
      },
    },
  ];
}
