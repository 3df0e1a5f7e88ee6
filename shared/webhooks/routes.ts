import type { RequestContext, Route } from '../platform/http.js';
import { fromZod } from '../platform/problem.js';
import { AttemptQuerySchema, CreateSubscriptionSchema, DeadLetterQuerySchema, RotateSecretSchema, UpdateSubscriptionSchema } from './model.js';
import type { AdminCall, WebhookService } from './service.js';

const PERMISSION = 'webhooks.manage';

function call(ctx: RequestContext): AdminCall {
  return { caller: ctx.who, requestId: ctx.requestId, trace: ctx.trace, sourceIp: ctx.sourceIp };
}

function subscriptionId(ctx: RequestContext): string {
  const id = ctx.params.id ?? '';
  ctx.resource = `webhooks/${id}`;
  return id;
}

function query<T extends { safeParse(v: unknown): { success: true; data: unknown } | { success: false; error: import('zod').ZodError } }>(ctx: RequestContext, schema: T) {
  const parsed = schema.safeParse(Object.fromEntries(ctx.query));
  if (!parsed.success) throw fromZod(parsed.error, 'query');
  return parsed.data;
}

/**
 * Webhook subscriptions and their dead letters (admins). The secret appears only in the create
 * and rotate responses. Dead-letter routes come first: `/v1/webhooks/{id}` would match them too.
 */
export function webhookRoutes(service: WebhookService): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/webhooks/dead-letters',
      action: 'webhooks.dead_letters.list',
      auth: 'required',
      async handle(ctx) {
        ctx.require(PERMISSION);
        ctx.resource = 'webhooks/dead-letters';
        const q = query(ctx, DeadLetterQuerySchema) as { subscription_id?: string; page_size: number };
        return { status: 200, body: await service.deadLetters(q.subscription_id, q.page_size) };
      },
    },
    {
      method: 'POST',
      path: '/v1/webhooks/dead-letters/{id}:replay',
      action: 'webhooks.dead_letters.replay',
      auth: 'required',
      async handle(ctx) {
        ctx.require(PERMISSION);
        const id = ctx.params.id ?? '';
        ctx.resource = `webhooks/dead-letters/${id}`;
        return { status: 200, body: await service.replay(id, call(ctx)) };
      },
    },
    {
      method: 'POST',
      path: '/v1/webhooks',
      action: 'webhooks.create',
      auth: 'required',
      async handle(ctx) {
        ctx.require(PERMISSION);
        const input = ctx.body(CreateSubscriptionSchema);
        const created = await service.create(input, call(ctx));
        ctx.resource = `webhooks/${created.id}`;
        return { status: 201, body: created, headers: { Location: `/v1/webhooks/${created.id}` } };
      },
    },
    {
      method: 'GET',
      path: '/v1/webhooks',
      action: 'webhooks.list',
      auth: 'required',
      async handle(ctx) {
        ctx.require(PERMISSION);
        ctx.resource = 'webhooks';
        return { status: 200, body: await service.list() };
      },
    },
    {
      method: 'GET',
      path: '/v1/webhooks/{id}',
      action: 'webhooks.read',
      auth: 'required',
      async handle(ctx) {
        ctx.require(PERMISSION);
        return { status: 200, body: await service.get(subscriptionId(ctx)) };
      },
    },
    {
      method: 'GET',
      path: '/v1/webhooks/{id}/attempts',
      action: 'webhooks.attempts.list',
      auth: 'required',
      async handle(ctx) {
        ctx.require(PERMISSION);
        const id = subscriptionId(ctx);
        const q = query(ctx, AttemptQuerySchema) as { page_size: number };
        return { status: 200, body: await service.attempts(id, q.page_size) };
      },
    },
    {
      method: 'PATCH',
      path: '/v1/webhooks/{id}',
      action: 'webhooks.update',
      auth: 'required',
      async handle(ctx) {
        ctx.require(PERMISSION);
        const id = subscriptionId(ctx);
        return { status: 200, body: await service.update(id, ctx.body(UpdateSubscriptionSchema), call(ctx)) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/webhooks/{id}',
      action: 'webhooks.delete',
      auth: 'required',
      async handle(ctx) {
        ctx.require(PERMISSION);
        await service.remove(subscriptionId(ctx), call(ctx));
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/v1/webhooks/{id}:rotate-secret',
      action: 'webhooks.rotate_secret',
      auth: 'required',
      async handle(ctx) {
        ctx.require(PERMISSION);
        const id = subscriptionId(ctx);
        const { overlap_seconds } = ctx.body(RotateSecretSchema);
        return { status: 200, body: await service.rotateSecret(id, overlap_seconds, call(ctx)) };
      },
    },
  ];
}
