import type { Route, RequestContext } from '../platform/http.js';
import { ValidationError } from '../platform/errors.js';
import { fromZod } from '../platform/problem.js';
import { AssignSchema, CloseSchema, CommentSchema, CreateInvestigationSchema, EmptySchema, ListQuerySchema } from './model.js';
import type { CallContext, InvestigationService } from './service.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function call(ctx: RequestContext): CallContext {
  return { caller: ctx.who, requestId: ctx.requestId, trace: ctx.trace, sourceIp: ctx.sourceIp };
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
      async handle(ctx) {
        ctx.require('investigations.create');
        const key = ctx.header('idempotency-key');
        if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
          throw new ValidationError('Idempotency-Key must be 1-255 visible ASCII characters.', [{ path: 'header.Idempotency-Key', message: 'invalid' }]);
        }
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
      auth: 'required',
      async handle(ctx) {
        ctx.require('investigations.list');
        const parsed = ListQuerySchema.safeParse(Object.fromEntries(ctx.query));
        if (!parsed.success) throw fromZod(parsed.error, 'query');
        ctx.resource = 'investigations';
        return { status: 200, body: await service.list(parsed.data, call(ctx)) };
      },
    },
    {
      method: 'GET',
      path: '/v1/investigations/{id}',
      action: 'investigations.read',
      auth: 'required',
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
      auth: 'required',
      async handle(ctx) {
        ctx.require('investigations.read');
        return { status: 200, body: await service.comments(investigationId(ctx), call(ctx)) };
      },
    },
  ];
}
