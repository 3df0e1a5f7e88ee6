import type { Firestore } from '@google-cloud/firestore';
import { NotFoundError } from '../platform/errors.js';
import { checkPrecondition, type Precondition } from '../platform/precondition.js';
import { AttemptDocSchema, COLLECTIONS, DeliveryDocSchema, isDue, SubscriptionDocSchema, type AttemptDoc, type DeliveryDoc, type SubscriptionDoc } from './model.js';

const ALREADY_EXISTS = 6;

/**
 * Firestore persistence for webhooks. Delivery ids are derived from (subscription, event id), so
 * creating a delivery is the deduplication: a redelivered event finds its delivery already there.
 * Claims and results are transactions on the delivery document.
 */
export class WebhookStore {
  constructor(private readonly db: Firestore) {}

  private subs() {
    return this.db.collection(COLLECTIONS.subscriptions);
  }
  private deliveries() {
    return this.db.collection(COLLECTIONS.deliveries);
  }

  async getSubscription(id: string): Promise<SubscriptionDoc | null> {
    if (!/^[\w-]{1,64}$/.test(id)) return null;
    const snap = await this.subs().doc(id).get();
    return snap.exists ? SubscriptionDocSchema.parse(snap.data()) : null;
  }

  async requireSubscription(id: string): Promise<SubscriptionDoc> {
    const doc = await this.getSubscription(id);
    if (!doc) throw new NotFoundError('Webhook subscription');
    return doc;
  }

  async createSubscription(doc: SubscriptionDoc): Promise<void> {
    await this.subs().doc(doc.id).create(doc);
  }

  /** Read-modify-write in a transaction; `change` returns the new document. If-Match is checked on what the transaction read. */
  async updateSubscription(id: string, change: (doc: SubscriptionDoc) => SubscriptionDoc, expect?: Precondition | null): Promise<{ before: SubscriptionDoc; after: SubscriptionDoc }> {
    return this.db.runTransaction(async (tx) => {
      const ref = this.subs().doc(id);
      const snap = await tx.get(ref);
      if (!snap.exists) throw new NotFoundError('Webhook subscription');
      const before = SubscriptionDocSchema.parse(snap.data());
      checkPrecondition(expect, { id: before.id, updated_at: before.updated_at });
      const after = change(before);
      tx.set(ref, after);
      return { before, after };
    });
  }

  async deleteSubscription(id: string, expect?: Precondition | null): Promise<SubscriptionDoc> {
    return this.db.runTransaction(async (tx) => {
      const ref = this.subs().doc(id);
      const snap = await tx.get(ref);
      if (!snap.exists) throw new NotFoundError('Webhook subscription');
      const before = SubscriptionDocSchema.parse(snap.data());
      checkPrecondition(expect, { id: before.id, updated_at: before.updated_at });
      tx.delete(ref);
      return before;
    });
  }

  async listSubscriptions(): Promise<SubscriptionDoc[]> {
    const snap = await this.subs().orderBy('id', 'asc').limit(500).get();
    return snap.docs.map((d) => SubscriptionDocSchema.parse(d.data()));
  }

  /** Enabled subscriptions for one event type (index: enabled + event_types array-contains). */
  async matching(eventType: string): Promise<SubscriptionDoc[]> {
    const snap = await this.subs().where('enabled', '==', true).where('event_types', 'array-contains', eventType).get();
    return snap.docs.map((d) => SubscriptionDocSchema.parse(d.data()));
  }

  /** Creates the delivery unless it exists (same subscription + event id): returns whether it was new. */
  async createDelivery(doc: DeliveryDoc, expireAt: Date): Promise<boolean> {
    try {
      await this.deliveries().doc(doc.id).create({ ...doc, expire_at: expireAt });
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === ALREADY_EXISTS) return false;
      throw error;
    }
  }

  async getDelivery(id: string): Promise<DeliveryDoc | null> {
    if (!/^[\w-]{1,80}$/.test(id)) return null;
    const snap = await this.deliveries().doc(id).get();
    return snap.exists ? DeliveryDocSchema.parse(snap.data()) : null;
  }

  /** Transactional read-modify-write of a delivery; `change` returns null to leave it alone. */
  async mutateDelivery(id: string, change: (doc: DeliveryDoc) => DeliveryDoc | null, extra?: { attempt?: AttemptDoc; expireAt?: Date }): Promise<DeliveryDoc | null> {
    return this.db.runTransaction(async (tx) => {
      const ref = this.deliveries().doc(id);
      const snap = await tx.get(ref);
      if (!snap.exists) return null;
      const next = change(DeliveryDocSchema.parse(snap.data()));
      if (!next) return null;
      tx.set(ref, { ...next, ...(extra?.expireAt ? { expire_at: extra.expireAt } : {}) });
      if (extra?.attempt) tx.create(this.db.collection(COLLECTIONS.attempts).doc(extra.attempt.id), { ...extra.attempt, ...(extra.expireAt ? { expire_at: extra.expireAt } : {}) });
      return next;
    });
  }

  /** Pending deliveries due by `now` (pending work is small by construction; the time filter runs here). */
  async due(now: string, limit: number): Promise<DeliveryDoc[]> {
    const snap = await this.deliveries().where('status', '==', 'pending').limit(1000).get();
    return snap.docs
      .map((d) => DeliveryDocSchema.parse(d.data()))
      .filter((d) => isDue(d, now))
      .sort((a, b) => (a.next_attempt_at! < b.next_attempt_at! ? -1 : 1))
      .slice(0, limit);
  }

  async deadLetters(subscriptionId: string | undefined, limit: number): Promise<DeliveryDoc[]> {
    let query = this.deliveries().where('status', '==', 'dead_lettered');
    if (subscriptionId) query = query.where('subscription_id', '==', subscriptionId);
    const snap = await query.limit(500).get();
    return snap.docs
      .map((d) => DeliveryDocSchema.parse(d.data()))
      .sort((a, b) => (a.updated_at > b.updated_at ? -1 : 1))
      .slice(0, limit);
  }

  async deliveriesOf(eventId: string): Promise<DeliveryDoc[]> {
    const snap = await this.deliveries().where('event_id', '==', eventId).get();
    return snap.docs.map((d) => DeliveryDocSchema.parse(d.data()));
  }

  async attemptsOf(field: 'delivery_id' | 'subscription_id', id: string, limit: number): Promise<AttemptDoc[]> {
    const snap = await this.db.collection(COLLECTIONS.attempts).where(field, '==', id).limit(1000).get();
    return snap.docs
      .map((d) => AttemptDocSchema.parse(d.data()))
      .sort((a, b) => (a.at === b.at ? a.attempt - b.attempt : a.at > b.at ? -1 : 1))
      .slice(0, limit);
  }
}
