import { z } from 'zod';
import type { AuditLog } from '../audit/model.js';
import type { Route } from '../platform/http.js';
import { ValidationError } from '../platform/errors.js';
import type { RoleBindings } from './bindings.js';
import { ROLES, permissionsOf } from './policy.js';
import { auditingSeparation } from './errors.js';
import { PageQuerySchema, pageOf, paginate } from '../api/pagination.js';
import { MeSchema, RoleBindingViewSchema } from '../api/responses.js';

const PutBindingSchema = z.strictObject({
  roles: z.array(z.enum(ROLES)).max(ROLES.length).transform((r) => [...new Set(r)]),
  team: z.string().trim().min(1).max(64).regex(/^[a-z0-9_-]+$/).nullable().default(null),
});
const EmailParam = z.email().max(320);
const NoQuery = z.strictObject({});

/** Who am I, and (admins only) who has which role. Every change is audited with before and after. */
export function roleRoutes(bindings: RoleBindings, audit: AuditLog): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/me',
      action: 'me.read',
      auth: 'required',
      summary: 'Who am I: roles, team and permissions',
      tags: ['roles'],
      request: { query: NoQuery },
      responses: { 200: MeSchema },
      async handle(ctx) {
        const who = ctx.who;
        return { status: 200, body: { email: who.email, roles: who.roles, team: who.team, permissions: [...permissionsOf(who.roles as never)].sort() } };
      },
    },
    {
      method: 'GET',
      path: '/v1/role-bindings',
      action: 'roles.list',
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'List role bindings (admin)',
      tags: ['roles'],
      request: { query: PageQuerySchema },
      responses: { 200: pageOf(RoleBindingViewSchema) },
      async handle(ctx) {
        ctx.require('roles.read');
        const q = ctx.queryOf(PageQuerySchema);
        ctx.resource = 'role-bindings';
        return { status: 200, body: paginate(await bindings.list(), q, (b) => b.email) };
      },
    },
    {
      method: 'PUT',
      path: '/v1/role-bindings/{email}',
      action: 'roles.write',
      auth: 'required',
      summary: 'Set the roles and team of a principal (admin; audited with before and after)',
      description: 'Separation of duties: nobody adds `admin` or `compliance` to their own binding (403 `separation-of-duties`, rule `self-grant`); another admin must.',
      tags: ['roles'],
      request: { params: z.strictObject({ email: EmailParam }), body: PutBindingSchema },
      responses: { 200: RoleBindingViewSchema },
      async version(ctx) {
        ctx.require('roles.write');
        const b = await bindings.get(ctx.params.email ?? '');
        return b ? { id: b.email, updated_at: b.updated_at } : null;
      },
      async handle(ctx) {
        const actor = ctx.require('roles.write');
        ctx.resource = `role-bindings/${ctx.params.email ?? ''}`;
        const email = EmailParam.safeParse(ctx.params.email);
        if (!email.success) throw new ValidationError('path.email: must be an email address', [{ path: 'path.email', message: 'invalid email' }]);
        const input = ctx.body(PutBindingSchema);
        const { before, after } = await auditingSeparation(ctx, () => bindings.change({ email: email.data, roles: input.roles, team: input.team }, actor.email, ctx.precondition));
        await audit.write({
          actor: actor.email,
          roles: actor.roles,
          action: 'roles.changed',
          resource: `role-bindings/${email.data.toLowerCase()}`,
          principal: email.data.toLowerCase(),
          outcome: 'allowed',
          reason: null,
          request_id: ctx.requestId,
          trace: ctx.trace,
          source_ip: ctx.sourceIp,
          details: { before: before ? { roles: before.roles, team: before.team } : null, after: { roles: after.roles, team: after.team } },
        });
        return { status: 200, body: after };
      },
    },
  ];
}
