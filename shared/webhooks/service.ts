import { createHash } from 'node:crypto';
import type { AuditLog } from '../audit/model.js';
import { specOf, validateData } from '../events/catalogue.js';
import type { PlatformEvent } from '../events/model.js';
import type { Clock } from '../platform/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.js';
import type { Caller } from '../platform/http.js';
import { newId } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import { recordWebhookFailure } from '../platform/metrics.js';
import { hasAttemptsLeft, parseRetryAfter, retryDelayMs, verdictOf } from './backoff.js';
import {
  RETENTION_DAYS,
  isDue,
  presentDelivery,
  presentSubscription,
  type AttemptDoc,
  type CreateSubscription,
  type DeliveryDoc,
  type SubscriptionDoc,
  type UpdateSubscription,
} from './model.js';
import type { SecretBox } from './secret-box.js';
import { createSender, type Sender } from './sender.js';
import { generateSecret, signedHeaders } from './signing.js';
import { checkUrl, DestinationRefusedError, resolveDestination, systemLookup, type DestinationPolicy, type Lookup } from './ssrf.js';
import type { WebhookStore } from './store.js';
import type { Precondition } from '../platform/precondition.js';

export interface WebhookServiceDeps {
  store: WebhookStore;
  box: SecretBox;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  policy: DestinationPolicy;
  lookup?: Lookup;
  /** Injected in tests; by default an SSRF-guarded HTTP sender with the same policy and lookup. */
  sender?: Sender;
  random?: () => number;
  /** How long one attempt holds its delivery before another sweep may try it again. */
  leaseMs?: number;
}

export interface AdminCall {
  caller: Caller;
  requestId: string;
  trace: string | null;
  sourceIp: string | null;
  /** The request's If-Match, checked by the write inside its transaction. */
  precondition?: Precondition | null;
}

export type AttemptResult = 'succeeded' | 'retry-scheduled' | 'dead-lettered' | 'gone' | 'cancelled' | 'skipped';

const SYSTEM_ACTOR = 'system:webhooks';
const MAX_ACTIVE_SECRETS = 5;

/** Audit details name the destination by origin only: a path or query may carry a receiver's own token. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid)';
  }
}

function summary(doc: SubscriptionDoc) {
  return { url_origin: origin(doc.url), event_types: doc.event_types, enabled: doc.enabled };
}

export function deliveryIdOf(subscriptionId: string, eventId: string): string {
  return 'dly_' + createHash('sha256').update(`${subscriptionId}\n${eventId}`).digest('hex').slice(0, 40);
}

/** The thin body receivers get (Standard Webhooks' recommended shape), data re-validated by the catalogue. */
export function payloadOf(event: PlatformEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.time, data: validateData(event.type, event.data) });
}

/**
 * Webhook subscriptions (admin API) and delivery: fan-out of each public event into one delivery
 * per matching subscription, Standard Webhooks signed attempts, retries on a backoff schedule
 * driven by a scheduled sweep, 410 disables the endpoint, dead letters after the last attempt.
 */
export class WebhookService {
  private readonly sender: Sender;
  private readonly lookup: Lookup;
  private readonly log: Logger;

  constructor(private readonly deps: WebhookServiceDeps) {
    this.lookup = deps.lookup ?? systemLookup;
    this.sender = deps.sender ?? createSender(deps.policy, this.lookup);
    this.log = deps.logger.child({ component: 'webhooks' });
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  private expireAt(from: Date): Date {
    return new Date(from.getTime() + RETENTION_DAYS * 86_400_000);
  }

  private async vetUrl(url: string): Promise<void> {
    try {
      await resolveDestination(checkUrl(url, this.deps.policy), this.deps.policy, this.lookup);
    } catch (error) {
      if (error instanceof DestinationRefusedError) throw new ValidationError(`body.url: ${error.message}`, [{ path: 'body.url', message: error.message }]);
      throw error;
    }
  }

  private async auditChange(call: AdminCall, action: string, id: string, details: Record<string, unknown>): Promise<void> {
    await this.deps.audit.write({
      actor: call.caller.email,
      roles: call.caller.roles,
      action,
      resource: `webhooks/${id}`,
      outcome: 'allowed',
      reason: null,
      request_id: call.requestId,
      trace: call.trace,
      source_ip: call.sourceIp,
      details,
    });
  }

  // ---- subscriptions -------------------------------------------------------------------------

  async create(input: CreateSubscription, call: AdminCall) {
    await this.vetUrl(input.url);
    const now = this.now();
    const id = newId('whk', now.getTime());
    const secret = generateSecret();
    const secretId = newId('whs', now.getTime());
    const doc: SubscriptionDoc = {
      id,
      url: input.url,
      event_types: input.event_types,
      description: input.description ?? null,
      enabled: input.enabled,
      disabled_reason: null,
      secrets: [{ id: secretId, sealed: await this.deps.box.seal(secret, `${id}/${secretId}`), created_at: now.toISOString(), expires_at: null }],
      created_by: call.caller.email,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    };
    await this.deps.store.createSubscription(doc);
    await this.auditChange(call, 'webhooks.created', id, { after: summary(doc) });
    return { ...presentSubscription(doc), secret };
  }

  async list() {
    return { items: (await this.deps.store.listSubscriptions()).map(presentSubscription) };
  }

  async get(id: string) {
    return presentSubscription(await this.deps.store.requireSubscription(id));
  }

  async update(id: string, patch: UpdateSubscription, call: AdminCall) {
    if (patch.url !== undefined) await this.vetUrl(patch.url);
    const at = this.now().toISOString();
    const { before, after } = await this.deps.store.updateSubscription(id, (doc) => ({
      ...doc,
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.event_types !== undefined ? { event_types: patch.event_types } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled, disabled_reason: patch.enabled ? null : 'disabled by an admin' } : {}),
      updated_at: at,
    }), call.precondition);
    await this.auditChange(call, 'webhooks.updated', id, { before: summary(before), after: summary(after) });
    return presentSubscription(after);
  }

  async remove(id: string, call: AdminCall): Promise<void> {
    const before = await this.deps.store.deleteSubscription(id, call.precondition);
    await this.auditChange(call, 'webhooks.deleted', id, { before: summary(before) });
  }

  /**
   * A new secret signs from now on; the previous ones keep signing until the overlap ends, so
   * receivers can switch without losing a delivery. Returns the new secret (shown once).
   */
  async rotateSecret(id: string, overlapSeconds: number, call: AdminCall) {
    const now = this.now();
    const secret = generateSecret();
    const secretId = newId('whs', now.getTime());
    const sealed = await this.deps.box.seal(secret, `${id}/${secretId}`);
    const until = new Date(now.getTime() + overlapSeconds * 1000).toISOString();
    const { after } = await this.deps.store.updateSubscription(id, (doc) => {
      const kept = doc.secrets
        .filter((s) => s.expires_at === null || s.expires_at > now.toISOString())
        .map((s) => ({ ...s, expires_at: s.expires_at === null || s.expires_at > until ? until : s.expires_at }))
        .filter((s) => s.expires_at > now.toISOString())
        .slice(-(MAX_ACTIVE_SECRETS - 1));
      return { ...doc, secrets: [...kept, { id: secretId, sealed, created_at: now.toISOString(), expires_at: null }], updated_at: now.toISOString() };
    }, call.precondition);
    await this.auditChange(call, 'webhooks.secret_rotated', id, { new_secret_id: secretId, previous_valid_until: until });
    return { ...presentSubscription(after), secret };
  }

  /** Secrets that sign now, newest first. */
  private async activeSecrets(doc: SubscriptionDoc, now: Date): Promise<string[]> {
    const active = doc.secrets.filter((s) => s.expires_at === null || s.expires_at > now.toISOString()).reverse();
    return Promise.all(active.map((s) => this.deps.box.open(s.sealed, `${doc.id}/${s.id}`)));
  }

  // ---- delivery ------------------------------------------------------------------------------

  /**
   * One delivery per matching subscription, keyed on (subscription, event id): a duplicate event
   * finds its deliveries already there and sends nothing new. Then the first attempt of each.
   */
  async fanOut(event: PlatformEvent): Promise<{ deliveries: string[]; created: number }> {
    if (specOf(event.type)?.audience !== 'public') return { deliveries: [], created: 0 };
    const payload = payloadOf(event);
    const subs = await this.deps.store.matching(event.type);
    const now = this.now();
    let created = 0;
    const ids: string[] = [];
    for (const sub of subs) {
      const id = deliveryIdOf(sub.id, event.id);
      ids.push(id);
      const doc: DeliveryDoc = {
        id,
        subscription_id: sub.id,
        event_id: event.id,
        event_type: event.type,
        payload,
        status: 'pending',
        attempts: 0,
        next_attempt_at: now.toISOString(),
        lease_expires_at: null,
        last_status_code: null,
        last_error: null,
        dead_letter_reason: null,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
        completed_at: null,
        replays: 0,
      };
      if (await this.deps.store.createDelivery(doc, this.expireAt(now))) created++;
    }
    if (created < ids.length) this.log.info('duplicate event: deliveries already exist', { event_id: event.id, duplicates: ids.length - created });
    await Promise.all(ids.map((id) => this.attempt(id)));
    return { deliveries: ids, created };
  }

  /** Attempts one due delivery (claimed with a lease, so concurrent sweeps do not double-send). */
  async attempt(id: string): Promise<AttemptResult> {
    const claimedAt = this.now();
    const nowIso = claimedAt.toISOString();
    const lease = new Date(claimedAt.getTime() + (this.deps.leaseMs ?? 5 * 60_000)).toISOString();
    const claimed = await this.deps.store.mutateDelivery(id, (d) => (isDue(d, nowIso) ? { ...d, lease_expires_at: lease } : null));
    if (!claimed) return 'skipped';
    const log = this.log.child({ delivery_id: id, subscription_id: claimed.subscription_id, event_id: claimed.event_id });

    const sub = await this.deps.store.getSubscription(claimed.subscription_id);
    if (!sub) {
      await this.settle(id, claimed, { status: 'cancelled', dead_letter_reason: 'subscription deleted' });
      return 'cancelled';
    }
    if (!sub.enabled) {
      await this.settle(id, claimed, { status: 'dead_lettered', dead_letter_reason: `subscription disabled (${sub.disabled_reason ?? 'by an admin'})` });
      return 'dead-lettered';
    }

    const headers = signedHeaders(await this.activeSecrets(sub, claimedAt), claimed.event_id, claimedAt, claimed.payload);
    const result = await this.sender({ url: sub.url, headers: { ...headers }, body: claimed.payload });
    const at = this.now();
    const status = result.kind === 'response' ? result.status : null;
    const verdict = verdictOf(status);
    const attemptNo = claimed.attempts + 1;
    const error = result.kind === 'error' ? result.error : verdict === 'succeeded' ? null : `HTTP ${status}`;
    let next: Partial<DeliveryDoc>;
    let outcome: AttemptResult;
    if (verdict === 'succeeded') {
      next = { status: 'succeeded', completed_at: at.toISOString(), next_attempt_at: null };
      outcome = 'succeeded';
    } else if (verdict === 'gone') {
      next = { status: 'dead_lettered', next_attempt_at: null, dead_letter_reason: 'the endpoint answered 410 Gone; the subscription was disabled' };
      outcome = 'gone';
    } else if (hasAttemptsLeft(attemptNo)) {
      const retryAfter = result.kind === 'response' ? parseRetryAfter(result.retryAfter, at) : null;
      next = { status: 'pending', next_attempt_at: new Date(at.getTime() + retryDelayMs(attemptNo, this.deps.random, retryAfter)).toISOString() };
      outcome = 'retry-scheduled';
    } else {
      next = { status: 'dead_lettered', next_attempt_at: null, dead_letter_reason: `no success after ${attemptNo} attempts` };
      outcome = 'dead-lettered';
    }
    const attempt: AttemptDoc = {
      id: newId('att', at.getTime()),
      delivery_id: id,
      subscription_id: sub.id,
      event_id: claimed.event_id,
      attempt: attemptNo,
      at: at.toISOString(),
      outcome: verdict === 'succeeded' ? 'succeeded' : verdict === 'gone' ? 'gone' : result.kind === 'error' && result.blocked ? 'blocked' : 'failed',
      status_code: status,
      latency_ms: result.latencyMs,
      error,
      next_attempt_at: next.next_attempt_at ?? null,
    };
    await this.deps.store.mutateDelivery(
      id,
      (d) => ({ ...d, ...next, attempts: attemptNo, last_status_code: status, last_error: error, lease_expires_at: null, updated_at: at.toISOString() }),
      { attempt, expireAt: this.expireAt(at) },
    );
    if (outcome === 'succeeded') log.info('webhook delivered', { attempt: attemptNo, status, latency_ms: result.latencyMs });
    else {
      log.warn('webhook attempt failed', { attempt: attemptNo, status, error, outcome, next_attempt_at: next.next_attempt_at ?? null });
      recordWebhookFailure(log, outcome);
    }
    if (verdict === 'gone') await this.disableGone(sub.id, at);
    return outcome;
  }

  private async settle(id: string, claimed: DeliveryDoc, patch: Partial<DeliveryDoc>): Promise<void> {
    const at = this.now().toISOString();
    await this.deps.store.mutateDelivery(id, (d) => ({ ...d, ...patch, next_attempt_at: null, lease_expires_at: null, updated_at: at }));
    this.log.info('delivery settled without sending', { delivery_id: id, subscription_id: claimed.subscription_id, status: patch.status, reason: patch.dead_letter_reason });
  }

  private async disableGone(subscriptionId: string, at: Date): Promise<void> {
    const reason = `the endpoint answered 410 Gone at ${at.toISOString()}`;
    try {
      await this.deps.store.updateSubscription(subscriptionId, (doc) => ({ ...doc, enabled: false, disabled_reason: reason, updated_at: at.toISOString() }));
    } catch (error) {
      if (error instanceof NotFoundError) return;
      throw error;
    }
    this.log.notice('webhook subscription disabled: endpoint gone', { subscription_id: subscriptionId });
    await this.deps.audit.write({ actor: SYSTEM_ACTOR, roles: [], action: 'webhooks.disabled', resource: `webhooks/${subscriptionId}`, outcome: 'allowed', reason, request_id: null, trace: null, source_ip: null });
  }

  /** The scheduled sweep: attempts every delivery whose retry is due (a few at a time). */
  async sweep(limit = 200): Promise<{ attempted: number; results: Record<string, number> }> {
    const due = await this.deps.store.due(this.now().toISOString(), limit);
    const results: Record<string, number> = {};
    const queue = [...due];
    const worker = async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        const r = await this.attempt(d.id);
        results[r] = (results[r] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, due.length) }, worker));
    if (due.length) this.log.info('webhook sweep', { attempted: due.length, results });
    return { attempted: due.length, results };
  }

  // ---- dead letters --------------------------------------------------------------------------

  async deadLetters(subscriptionId: string | undefined, limit: number) {
    return { items: (await this.deps.store.deadLetters(subscriptionId, limit)).map(presentDelivery) };
  }

  async attempts(subscriptionId: string, limit: number) {
    await this.deps.store.requireSubscription(subscriptionId);
    return { items: await this.deps.store.attemptsOf('subscription_id', subscriptionId, limit) };
  }

  /** Puts a dead letter back in the queue with a fresh retry budget and attempts it now. */
  async replay(id: string, call: AdminCall) {
    const existing = await this.deps.store.getDelivery(id);
    if (!existing) throw new NotFoundError('Dead letter');
    const sub = await this.deps.store.getSubscription(existing.subscription_id);
    if (!sub) throw new ConflictError('webhook-subscription-deleted', 'The subscription of this dead letter was deleted; it cannot be replayed.');
    if (!sub.enabled) throw new ConflictError('webhook-subscription-disabled', 'Enable the subscription (PATCH enabled: true) before replaying its dead letters.');
    const at = this.now().toISOString();
    let wasDead = false;
    await this.deps.store.mutateDelivery(id, (d) => {
      wasDead = d.status === 'dead_lettered';
      if (!wasDead) return null;
      return { ...d, status: 'pending', attempts: 0, replays: d.replays + 1, next_attempt_at: at, dead_letter_reason: null, lease_expires_at: null, updated_at: at };
    });
    if (!wasDead) throw new ConflictError('not-a-dead-letter', `Delivery ${id} is ${existing.status}, not dead-lettered.`);
    await this.auditChange(call, 'webhooks.dead_letter_replayed', sub.id, { delivery_id: id, event_id: existing.event_id, event_type: existing.event_type });
    const result = await this.attempt(id);
    const after = await this.deps.store.getDelivery(id);
    return { result, delivery: after ? presentDelivery(after) : null };
  }
}
