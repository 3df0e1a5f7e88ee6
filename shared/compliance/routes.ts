import { z } from 'zod';
import type { Route } from '../platform/http.js';
import { ProblemSchema } from '../api/openapi.js';
import { auditingSeparation } from '../auth/errors.js';
import { actorOf } from './actor.js';
import { pageOf, pageQuery, paginate } from '../api/pagination.js';
import { ErasurePageSchema, ErasureViewSchema, HoldViewSchema, PolicyListSchema, SweepReportSchema } from '../api/responses.js';
import type { Compliance } from './index.js';
import { CreateErasureSchema, ErasureListQuerySchema, ExtendErasureSchema, presentErasure } from './erasure/model.js';
import { CreateHoldSchema, HoldListQuerySchema, ReleaseHoldSchema, presentHold } from './holds/model.js';
import { PutPoliciesSchema } from './retention/policy.js';

const actor = actorOf;

const IdParams = z.strictObject({ id: z.string().min(1).max(128) });
const NoQuery = z.strictObject({});
const HoldPageQuery = HoldListQuerySchema.extend(pageQuery());
const ErasurePageQuery = ErasureListQuerySchema.extend(pageQuery());

const SweepSchema = z.strictObject({ dry_run: z.boolean().default(false) });
const DeleteSchema = z.strictObject({ reason: z.string().trim().min(1).max(2000) });

/** HTTP surface of compliance: legal holds, erasure requests, retention policies, purge. */
export function complianceRoutes(get: () => Compliance): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/legal-holds',
      action: 'legal_holds.place',
      auth: 'required',
      summary: 'Place a legal hold on a subject, an investigation or a query of investigations',
      tags: ['compliance'],
      request: { body: CreateHoldSchema },
      responses: {
        201: { schema: HoldViewSchema, headers: { Location: 'URL of the hold.' } },
        404: { contentType: 'application/problem+json', schema: ProblemSchema, description: 'The investigation named by `investigation_id` does not exist or the caller may not see it (`not-found`).' },
      },
      async handle(ctx) {
        ctx.require('legal_holds.place');
        const hold = await get().holds.place(ctx.body(CreateHoldSchema), actor(ctx));
        ctx.resource = `legal-holds/${hold.id}`;
        return { status: 201, body: presentHold(hold), headers: { Location: `/v1/legal-holds/${hold.id}` } };
      },
    },
    {
      method: 'GET',
      path: '/v1/legal-holds',
      action: 'legal_holds.list',
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'List legal holds',
      tags: ['compliance'],
      request: { query: HoldPageQuery },
      responses: { 200: pageOf(HoldViewSchema) },
      async handle(ctx) {
        ctx.require('legal_holds.read');
        const q = ctx.queryOf(HoldPageQuery);
        ctx.resource = 'legal-holds';
        return { status: 200, body: paginate((await get().holds.list(q.state)).map(presentHold), q, (h) => h.id) };
      },
    },
    {
      method: 'GET',
      path: '/v1/legal-holds/{id}',
      action: 'legal_holds.read',
      auth: 'required',
      summary: 'Read a legal hold',
      tags: ['compliance'],
      request: { params: IdParams },
      responses: { 200: HoldViewSchema },
      async handle(ctx) {
        ctx.require('legal_holds.read');
        ctx.resource = `legal-holds/${ctx.params.id}`;
        return { status: 200, body: presentHold(await get().holds.get(ctx.params.id ?? '')) };
      },
    },
    {
      method: 'POST',
      path: '/v1/legal-holds/{id}:release',
      action: 'legal_holds.release',
      auth: 'required',
      summary: 'Release a legal hold (erasures it blocked are tried again)',
      description: 'Four eyes: the principal who placed the hold cannot release it (403 `separation-of-duties`, rule `hold-release-by-placer`).',
      tags: ['compliance'],
      request: { params: IdParams, body: ReleaseHoldSchema },
      responses: { 200: HoldViewSchema },
      async handle(ctx) {
        ctx.require('legal_holds.release');
        const id = ctx.params.id ?? '';
        ctx.resource = `legal-holds/${id}`;
        const { reason } = ctx.body(ReleaseHoldSchema);
        const c = get();
        await c.holds.get(id);
        const hold = await auditingSeparation(ctx, () => c.holds.release(id, reason, actor(ctx)));
        // Erasures waiting on this hold are tried again now (they stay blocked if another applies).
        await c.erasure.redrive((e) => e.status === 'blocked' && e.blocked_by.some((b) => b.id === id));
        return { status: 200, body: presentHold(hold) };
      },
    },
    {
      method: 'POST',
      path: '/v1/erasure-requests',
      action: 'erasure.request',
      auth: 'required',
      summary: 'Request erasure of a subject\'s personal data (202 new, 200 already requested)',
      tags: ['compliance'],
      request: { body: CreateErasureSchema },
      responses: {
        202: { schema: ErasureViewSchema, headers: { Location: 'URL of the request.' } },
        200: { schema: ErasureViewSchema, description: 'An open request for this subject already exists.' },
      },
      async handle(ctx) {
        ctx.require('erasure.request');
        const { subject } = ctx.body(CreateErasureSchema);
        const { doc, created } = await get().erasure.request(subject, actor(ctx));
        ctx.resource = `erasure-requests/${doc.id}`;
        return { status: created ? 202 : 200, body: presentErasure(doc, ctx.now()), headers: { Location: `/v1/erasure-requests/${doc.id}` } };
      },
    },
    {
      method: 'GET',
      path: '/v1/erasure-requests',
      action: 'erasure.list',
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'List erasure requests with their due dates',
      tags: ['compliance'],
      request: { query: ErasurePageQuery },
      responses: { 200: ErasurePageSchema },
      async handle(ctx) {
        ctx.require('erasure.read');
        const q = ctx.queryOf(ErasurePageQuery);
        ctx.resource = 'erasure-requests';
        const items = (await get().erasure.list(q.status)).map((d) => presentErasure(d, ctx.now()));
        return { status: 200, body: { ...paginate(items, q, (i) => i.id), due_soon: items.filter((i) => i.due_flag !== null).length } };
      },
    },
    {
      method: 'GET',
      path: '/v1/erasure-requests/{id}',
      action: 'erasure.read',
      auth: 'required',
      summary: 'Read an erasure request and its receipt',
      tags: ['compliance'],
      request: { params: IdParams },
      responses: { 200: ErasureViewSchema },
      async handle(ctx) {
        ctx.require('erasure.read');
        ctx.resource = `erasure-requests/${ctx.params.id}`;
        return { status: 200, body: presentErasure(await get().erasure.get(ctx.params.id ?? ''), ctx.now()) };
      },
    },
    {
      method: 'POST',
      path: '/v1/erasure-requests/{id}:extend',
      action: 'erasure.extend',
      auth: 'required',
      summary: 'Extend an erasure deadline once, by up to two months, with a reason (GDPR art. 12(3))',
      description:
        'Before the original deadline only, once per request (409 `erasure-already-extended`; completed: 409 `erasure-completed`; past due: 409 `erasure-extension-too-late`). `extended_until` defaults to, and may not pass, two months after the original deadline. `subject_informed: true` confirms the subject has been told of the extension and its reasons.',
      tags: ['compliance'],
      request: { params: IdParams, body: ExtendErasureSchema },
      responses: { 200: ErasureViewSchema },
      async handle(ctx) {
        ctx.require('erasure.extend');
        const id = ctx.params.id ?? '';
        ctx.resource = `erasure-requests/${id}`;
        const input = ctx.body(ExtendErasureSchema);
        return { status: 200, body: presentErasure(await get().extensions.extend(id, input, actor(ctx)), ctx.now()) };
      },
    },
    {
      method: 'GET',
      path: '/v1/retention-policies',
      action: 'retention.read',
      auth: 'required',
      summary: 'Retention policies, one per kind of record (a fixed set: not paginated)',
      tags: ['compliance'],
      request: { query: NoQuery },
      responses: { 200: PolicyListSchema },
      async handle(ctx) {
        ctx.require('retention.read');
        ctx.resource = 'retention-policies';
        return { status: 200, body: { items: await get().retention.list() } };
      },
    },
    {
      method: 'PUT',
      path: '/v1/retention-policies',
      action: 'retention.write',
      auth: 'required',
      summary: 'Change retention policies (all or none)',
      tags: ['compliance'],
      request: { body: PutPoliciesSchema },
      responses: { 200: PolicyListSchema },
      async handle(ctx) {
        ctx.require('retention.write');
        ctx.resource = 'retention-policies';
        const { policies } = ctx.body(PutPoliciesSchema);
        return { status: 200, body: { items: await get().retention.update(policies, actor(ctx)) } };
      },
    },
    {
      method: 'POST',
      path: '/v1/retention-policies:sweep',
      action: 'retention.sweep',
      auth: 'required',
      summary: 'Run the retention sweep now (or a dry run)',
      tags: ['compliance'],
      request: { body: SweepSchema },
      responses: { 200: SweepReportSchema },
      async handle(ctx) {
        ctx.require('retention.write');
        ctx.resource = 'retention';
        const { dry_run } = ctx.body(SweepSchema);
        const origin = { request_id: ctx.requestId, trace: ctx.trace, source_ip: ctx.sourceIp };
        return { status: 200, body: await get().retention.run({ dryRun: dry_run, actor: ctx.who.email, origin }) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/investigations/{id}',
      action: 'investigations.delete',
      auth: 'required',
      summary: 'Purge an investigation (refused while a legal hold covers it)',
      tags: ['investigations'],
      request: { params: IdParams, body: DeleteSchema },
      responses: { 204: null },
      async handle(ctx) {
        ctx.require('investigations.delete');
        const id = ctx.params.id ?? '';
        ctx.resource = `investigations/${id}`;
        const { reason } = ctx.body(DeleteSchema);
        await get().purge.purge(id, actor(ctx), reason);
        return { status: 204 };
      },
    },
  ];
}
