import { z } from 'zod';
import type { Route, RequestContext, ResourceVersion } from '../platform/http.js';
import { PageQuerySchema, paginate } from '../api/pagination.js';
import { CommentPageSchema, CommentViewSchema, InvestigationPageViewSchema, InvestigationViewSchema } from '../api/responses.js';
import { AssignSchema, CloseSchema, CommentSchema, CreateInvestigationSchema, EmptySchema, ListQuerySchema } from './model.js';
import type { CallContext, InvestigationService } from './service.js';

const TAGS = ['investigations'];
const IdParams = z.strictObject({ id: z.string().min(1).max(128) });
const location = { Location: 'URL of the investigation.' };

/** The version an If-Match on an action is checked against (permission first: it runs before the handler). */
function versionFor(service: InvestigationService, permission: string) {
  return async (ctx: RequestContext): Promise<ResourceVersion | null> => {
    ctx.require(permission);
    const doc = await service.visible(investigationId(ctx), call(ctx));
    return { id: doc.id, updated_at: doc.updated_at };
  };
}

function call(ctx: RequestContext): CallContext {
  return { caller: ctx.who, requestId: ctx.requestId, trace: ctx.trace, sourceIp: ctx.sourceIp, precondition: ctx.precondition };
}

function investigationId(ctx: RequestContext): string {
  const id = ctx.params.id ?? '';
  ctx.resource = `investigations/${id}`;
  return id;
}

/** HTTP surface of the investigations concern, mounted by the api function under /v1. */
export function investigationRoutes(service: InvestigationService): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/investigations',
      action: 'investigations.create',
      auth: 'required',
      summary: 'Open an investigation',
      description: 'Queues an investigation of a subject (or of the subject a question names). Rate limited per principal. With Idempotency-Key, a repeat of the same request answers with the same investigation.',
      tags: TAGS,
      // The use case keeps the key in the same transaction as the investigation it creates.
      idempotency: 'handler',
      request: { body: CreateInvestigationSchema },
      responses: { 202: { schema: InvestigationViewSchema, description: 'Queued.', headers: { ...location, 'Idempotent-Replayed': '`true` on a replay.' } } },
      async handle(ctx) {
        ctx.require('investigations.create');
        // The kit has already refused a malformed Idempotency-Key (every POST).
        const key = ctx.header('idempotency-key');
        const input = ctx.body(CreateInvestigationSchema);
        const { response, replayed, id } = await service.create(input, call(ctx), key);
        if (id) ctx.resource = `investigations/${id}`;
        return {
          status: response.status,
          body: response.body,
          headers: { ...(id ? { Location: `/v1/investigations/${id}` } : {}), ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}) },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/investigations',
      action: 'investigations.list',
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'List investigations (newest first)',
      description: 'Restricted investigations the caller may not see are left out.',
      tags: TAGS,
      request: { query: ListQuerySchema },
      responses: { 200: InvestigationPageViewSchema },
      async handle(ctx) {
        ctx.require('investigations.list');
        const q = ctx.queryOf(ListQuerySchema);
        ctx.resource = 'investigations';
        return { status: 200, body: await service.list(q, call(ctx)) };
      },
    },
    {
      method: 'GET',
      path: '/v1/investigations/{id}',
      action: 'investigations.read',
      auth: 'required',
      summary: 'Read an investigation: steps, findings with evidence, risk, recommended action',
      tags: TAGS,
      request: { params: IdParams },
      responses: { 200: { schema: InvestigationViewSchema, headers: { ETag: 'Version for If-Match.' } } },
      async handle(ctx) {
        ctx.require('investigations.read');
        return { status: 200, body: await service.read(investigationId(ctx), call(ctx)) };
      },
    },
    {
      method: 'POST',
      path: '/v1/investigations/{id}:cancel',
      action: 'investigations.cancel',
      auth: 'required',
      summary: 'Cancel a queued or running investigation',
      tags: TAGS,
      request: { params: IdParams, body: EmptySchema },
      responses: { 200: InvestigationViewSchema },
      version: versionFor(service, 'investigations.cancel'),
      async handle(ctx) {
        ctx.require('investigations.cancel');
        const id = investigationId(ctx);
        ctx.body(EmptySchema);
        return { status: 200, body: await service.cancel(id, call(ctx)) };
      },
    },
    {
      method: 'POST',
      path: '/v1/investigations/{id}:assign',
      action: 'investigations.assign',
      auth: 'required',
      summary: 'Assign to a bound principal (lead)',
      tags: TAGS,
      request: { params: IdParams, body: AssignSchema },
      responses: { 200: InvestigationViewSchema },
      version: versionFor(service, 'investigations.assign'),
      async handle(ctx) {
        ctx.require('investigations.assign');
        const id = investigationId(ctx);
        const { assignee } = ctx.body(AssignSchema);
        return { status: 200, body: await service.assign(id, assignee, call(ctx)) };
      },
    },
    {
      method: 'POST',
      path: '/v1/investigations/{id}:close',
      action: 'investigations.close',
      auth: 'required',
      summary: 'Close a completed investigation with a decision (lead)',
      tags: TAGS,
      request: { params: IdParams, body: CloseSchema },
      responses: { 200: InvestigationViewSchema },
      version: versionFor(service, 'investigations.close'),
      async handle(ctx) {
        ctx.require('investigations.close');
        const id = investigationId(ctx);
        const body = ctx.body(CloseSchema);
        return { status: 200, body: await service.close(id, body, call(ctx)) };
      },
    },
    {
      method: 'POST',
      path: '/v1/investigations/{id}:reopen',
      action: 'investigations.reopen',
      auth: 'required',
      summary: 'Reopen a closed investigation (lead)',
      tags: TAGS,
      request: { params: IdParams, body: EmptySchema },
      responses: { 200: InvestigationViewSchema },
      version: versionFor(service, 'investigations.reopen'),
      async handle(ctx) {
        ctx.require('investigations.reopen');
        const id = investigationId(ctx);
        ctx.body(EmptySchema);
        return { status: 200, body: await service.reopen(id, call(ctx)) };
      },
    },
    {
      method: 'POST',
      path: '/v1/investigations/{id}/comments',
      action: 'investigations.comment',
      auth: 'required',
      summary: 'Comment on an investigation',
      tags: TAGS,
      request: { params: IdParams, body: CommentSchema },
      responses: { 201: { schema: CommentViewSchema, headers: { Location: 'URL of the comment.' } } },
      async handle(ctx) {
        ctx.require('investigations.comment');
        const id = investigationId(ctx);
        const { body } = ctx.body(CommentSchema);
        const comment = await service.comment(id, body, call(ctx));
        return { status: 201, body: comment, headers: { Location: `/v1/investigations/${id}/comments/${comment.id}` } };
      },
    },
    {
      method: 'GET',
      path: '/v1/investigations/{id}/comments',
      action: 'investigations.comments.list',
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'List comments (oldest first)',
      tags: TAGS,
      request: { params: IdParams, query: PageQuerySchema },
      responses: { 200: CommentPageSchema },
      async handle(ctx) {
        ctx.require('investigations.read');
        const q = ctx.queryOf(PageQuerySchema);
        const { items } = await service.comments(investigationId(ctx), call(ctx));
        return { status: 200, body: paginate(items, q, (c) => c.id) };
      },
    },
  ];
}
