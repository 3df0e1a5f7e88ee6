import { z } from 'zod';
import type { RequestContext, ResourceVersion, Route } from '../platform/http.js';
import { PageQuerySchema, pageOf, pageQuery, paginate } from '../api/pagination.js';
import { AttemptViewSchema, DeliveryViewSchema, ReplayResultSchema, SubscriptionViewSchema, SubscriptionWithSecretSchema } from '../api/responses.js';
import { CreateSubscriptionSchema, DeadLetterQuerySchema, RotateSecretSchema, UpdateSubscriptionSchema } from './model.js';
import type { AdminCall, WebhookService } from './service.js';

const PERMISSION = 'webhooks.manage';

function call(ctx: RequestContext): AdminCall {
  return { caller: ctx.who, requestId: ctx.requestId, trace: ctx.trace, sourceIp: ctx.sourceIp, precondition: ctx.precondition };
}

function subscriptionId(ctx: RequestContext): string {
  const id = ctx.params.id ?? '';
  ctx.resource = `webhooks/${id}`;
  return id;
}

const TAGS = ['webhooks'];
const IdParams = z.strictObject({ id: z.string().min(1).max(64) });
const EmptySchema = z.strictObject({});
/** Lists read at most this many records and page through them (admin collections stay small). */
const READ_BOUND = 1000;
const DeadLetterPageQuery = DeadLetterQuerySchema.extend(pageQuery(50, 100));
const AttemptPageQuery = z.strictObject(pageQuery(50, 200));

function versionFor(service: WebhookService) {
  return async (ctx: RequestContext): Promise<ResourceVersion | null> => {
    ctx.require(PERMISSION);
    const sub = await service.get(subscriptionId(ctx)).catch(() => null);
    return sub ? { id: sub.id, updated_at: sub.updated_at } : null;
  };
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
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'List dead-lettered deliveries',
      tags: TAGS,
      request: { query: DeadLetterPageQuery },
      responses: { 200: pageOf(DeliveryViewSchema) },
      async handle(ctx) {
        ctx.require(PERMISSION);
        ctx.resource = 'webhooks/dead-letters';
        const q = ctx.queryOf(DeadLetterPageQuery);
        const { items } = await service.deadLetters(q.subscription_id, READ_BOUND);
        return { status: 200, body: paginate(items, q, (d) => d.id) };
      },
    },
    {
      method: 'POST',
      path: '/v1/webhooks/dead-letters/{id}:replay',
      action: 'webhooks.dead_letters.replay',
      auth: 'required',
      summary: 'Deliver a dead letter again',
      tags: TAGS,
      request: { params: IdParams, body: EmptySchema },
      responses: { 200: ReplayResultSchema },
      async handle(ctx) {
        ctx.require(PERMISSION);
        const id = ctx.params.id ?? '';
        ctx.resource = `webhooks/dead-letters/${id}`;
        ctx.body(EmptySchema);
        return { status: 200, body: await service.replay(id, call(ctx)) };
      },
    },
    {
      method: 'POST',
      path: '/v1/webhooks',
      action: 'webhooks.create',
      auth: 'required',
      summary: 'Subscribe a URL to event types (the signing secret is shown once)',
      tags: TAGS,
      request: { body: CreateSubscriptionSchema },
      responses: { 201: { schema: SubscriptionWithSecretSchema, headers: { Location: 'URL of the subscription.' } } },
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
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'List webhook subscriptions',
      tags: TAGS,
      request: { query: PageQuerySchema },
      responses: { 200: pageOf(SubscriptionViewSchema) },
      async handle(ctx) {
        ctx.require(PERMISSION);
        const q = ctx.queryOf(PageQuerySchema);
        ctx.resource = 'webhooks';
        return { status: 200, body: paginate((await service.list()).items, q, (s) => s.id) };
      },
    },
    {
      method: 'GET',
      path: '/v1/webhooks/{id}',
      action: 'webhooks.read',
      auth: 'required',
      summary: 'Read a webhook subscription',
      tags: TAGS,
      request: { params: IdParams },
      responses: { 200: { schema: SubscriptionViewSchema, headers: { ETag: 'Version for If-Match.' } } },
      async handle(ctx) {
        ctx.require(PERMISSION);
        return { status: 200, body: await service.get(subscriptionId(ctx)) };
      },
    },
    {
      method: 'GET',
      path: '/v1/webhooks/{id}/attempts',
      action: 'webhooks.attempts.list',
      rateLimit: 'expensive-read',
      auth: 'required',
      summary: 'Delivery attempts of a subscription',
      tags: TAGS,
      request: { params: IdParams, query: AttemptPageQuery },
      responses: { 200: pageOf(AttemptViewSchema) },
      async handle(ctx) {
        ctx.require(PERMISSION);
        const id = subscriptionId(ctx);
        const q = ctx.queryOf(AttemptPageQuery);
        const { items } = await service.attempts(id, READ_BOUND);
        return { status: 200, body: paginate(items, q, (a) => a.id) };
      },
    },
    {
      method: 'PATCH',
      path: '/v1/webhooks/{id}',
      action: 'webhooks.update',
      auth: 'required',
      summary: 'Change a subscription (URL, event types, description, enabled)',
      tags: TAGS,
      request: { params: IdParams, body: UpdateSubscriptionSchema },
      responses: { 200: SubscriptionViewSchema },
      version: versionFor(service),
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
      summary: 'Delete a subscription',
      tags: TAGS,
      request: { params: IdParams },
      responses: { 204: null },
      version: versionFor(service),
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
      summary: 'Rotate the signing secret; the previous one keeps signing for overlap_seconds',
      tags: TAGS,
      request: { params: IdParams, body: RotateSecretSchema },
      responses: { 200: SubscriptionWithSecretSchema },
      version: versionFor(service),
      async handle(ctx) {
        ctx.require(PERMISSION);
        const id = subscriptionId(ctx);
        const { overlap_seconds } = ctx.body(RotateSecretSchema);
        return { status: 200, body: await service.rotateSecret(id, overlap_seconds, call(ctx)) };
      },
    },
  ];
}
