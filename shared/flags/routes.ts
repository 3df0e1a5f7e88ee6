import type { AuditLog } from '../audit/model.js';
import type { Route } from '../platform/http.js';
import type { FeatureFlags } from './flags.js';
import { PutFlagSchema } from './model.js';

/** Admins (and leads, read-only) see flags; admins change them. Every change is audited with before and after. */
export function flagRoutes(flags: FeatureFlags, audit: AuditLog): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/flags',
      action: 'flags.list',
      auth: 'required',
      async handle(ctx) {
        ctx.require('flags.read');
        ctx.resource = 'flags';
        return { status: 200, body: { items: await flags.list() } };
      },
    },
    {
      method: 'PUT',
      path: '/v1/flags/{name}',
      action: 'flags.write',
      auth: 'required',
      async handle(ctx) {
        const actor = ctx.require('flags.write');
        const name = ctx.params.name ?? '';
        ctx.resource = `flags/${name.slice(0, 64)}`;
        const input = ctx.body(PutFlagSchema);
        const { before, after } = await flags.set(name, input, actor.email);
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
