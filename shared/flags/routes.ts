import type { AuditLog } from '../audit/model.js';
import type { Route } from '../platform/http.js';
import type { FeatureFlags } from './flags.js';
import { PutFlagSchema } from './model.js';
import { z } from 'zod';
import { PageQuerySchema, pageOf, paginate } from '../api/pagination.js';
import { FlagViewSchema } from '../api/responses.js';

/** Admins (and leads, read-only) see flags; admins change them. Every change is audited with before and after. */
export function flagRoutes(flags: FeatureFlags, audit: AuditLog): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/flags',
      action: 'flags.list',
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'List feature flags with their effective values',
      tags: ['flags'],
      request: { query: PageQuerySchema },
      responses: { 200: pageOf(FlagViewSchema) },
      async handle(ctx) {
        ctx.require('flags.read');
        const q = ctx.queryOf(PageQuerySchema);
        ctx.resource = 'flags';
        return { status: 200, body: paginate(await flags.list(), q, (f) => f.name) };
      },
    },
    {
      method: 'PUT',
      path: '/v1/flags/{name}',
      action: 'flags.write',
      auth: 'required',
      summary: 'Turn a flag on or off, with a reason (admin; audited)',
      tags: ['flags'],
      request: { params: z.strictObject({ name: z.string().min(1).max(64) }), body: PutFlagSchema },
      responses: { 200: FlagViewSchema },
      async version(ctx) {
        ctx.require('flags.write');
        const f = (await flags.list()).find((x) => x.name === ctx.params.name);
        return f ? { id: f.name, updated_at: f.updated_at ?? '' } : null;
      },
      async handle(ctx) {
        const actor = ctx.require('flags.write');
        const name = ctx.params.name ?? '';
        ctx.resource = `flags/${name.slice(0, 64)}`;
        const input = ctx.body(PutFlagSchema);
        const { before, after } = await flags.set(name, input, actor.email, ctx.precondition);
        await audit.write({
          actor: actor.email,
          roles: actor.roles,
          action: 'flags.changed',
          resource: `flags/${after.name}`,
          outcome: 'allowed',
          reason: input.reason,
          request_id: ctx.requestId,
          trace: ctx.trace,
          source_ip: ctx.sourceIp,
          details: {
            before: { enabled: before.enabled, source: before.source, reason: before.reason },
            after: { enabled: after.enabled, source: after.source, reason: after.reason },
          },
        });
        return { status: 200, body: after };
      },
    },
  ];
}
