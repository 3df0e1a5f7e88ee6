import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import { PUBSUB_MESSAGE_PUBLISHED, wrapForDelivery } from './envelope.js';
import { validateEvent, type PlatformEvent } from './model.js';
import type { EventPublisher } from './port.js';

export interface LocalSubscription {
  name: string;
  /** Event types delivered to this subscriber (exact match). */
  types: string[];
  /** Function endpoint the CloudEvent is POSTed to. */
  url: string;
  /**
   * Bearer token for the push, standing in for a push subscription's OIDC token (the identity
   * Pub/Sub signs the push with). Null sends none.
   */
  pushToken?: (event: PlatformEvent) => Promise<string | null>;
  /**
   * `eventarc` (default): the binary-mode `messagePublished` CloudEvent Eventarc sends.
   * `push`: a plain Pub/Sub push subscription request (JSON `{message, subscription}`).
   */
  format?: 'eventarc' | 'push';
}

export interface LocalBusOptions {
  projectId: string;
  topic: string;
  dataDir: string;
  logger: Logger;
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * The local stand-in for Pub/Sub + Eventarc: every published event is POSTed to each matching
 * subscriber as the same binary-mode CloudEvent Eventarc would send, retried with exponential
 * backoff on failure and dead-lettered to a file after the last attempt. Pending deliveries live in
 * memory; the outbox and the reconciler re-publish what a hard kill loses.
 */
export class LocalEventBus implements EventPublisher {
  readonly kind = 'local' as const;
  private readonly subscriptions: LocalSubscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly paused = new Map<string, (() => void)[]>();
  private closed = false;
  private readonly stopRetries = new AbortController();
  readonly stats = { published: 0, delivered: 0, retried: 0, deadLettered: 0 };

  constructor(private readonly opts: LocalBusOptions) {}

  subscribe(subscription: LocalSubscription): void {
    this.subscriptions.push(subscription);
  }

  async publish(event: PlatformEvent): Promise<void> {
    if (this.closed) throw new Error('event bus is closed');
    try {
      validateEvent(event);
    } catch (error) {
      this.opts.logger.error('refusing to publish an invalid event', error, { event_id: event.id, event_type: event.type });
      throw error;
    }
    this.stats.published++;
    for (const sub of this.subscriptions.filter((s) => s.types.includes(event.type))) {
      const delivery = this.deliver(sub, event).finally(() => this.inFlight.delete(delivery));
      this.inFlight.add(delivery);
    }
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('event bus is closed');
  }

  /** Holds deliveries to one subscriber until `resume` — lets tests stage races deterministically. */
  pause(subscription: string): void {
    if (!this.paused.has(subscription)) this.paused.set(subscription, []);
  }

  resume(subscription: string): void {
    const waiters = this.paused.get(subscription) ?? [];
    this.paused.delete(subscription);
    waiters.forEach((w) => w());
  }

  /** Waits until every delivery started so far has succeeded or been dead-lettered. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Stops delivering: attempts already in flight finish, nothing new starts and pending retries
   * are abandoned. Their investigations stay queued, and the reconciler asks for them again after
   * the next start, so nothing is lost and shutdown never waits on a retry schedule.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.stopRetries.abort();
    for (const name of [...this.paused.keys()]) this.resume(name);
    await this.drain();
  }

  private async deliver(sub: LocalSubscription, event: PlatformEvent): Promise<void> {
    const waitlist = this.paused.get(sub.name);
    if (waitlist) await new Promise<void>((resolve) => waitlist.push(resolve));
    const maxAttempts = this.opts.maxAttempts ?? 8;
    const messageId = newId('msg');
    const publishTime = new Date();
    const body = JSON.stringify(wrapForDelivery(event, `projects/${this.opts.projectId}/subscriptions/${sub.name}`, messageId, publishTime));
    let backoff = this.opts.initialBackoffMs ?? 200;
    let lastError = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.closed) {
        this.opts.logger.info('event delivery abandoned at shutdown', { subscription: sub.name, event_type: event.type, event_id: event.id });
        return;
      }
      try {
        const token = sub.pushToken ? await sub.pushToken(event) : null;
        const res = await fetch(sub.url, {
          method: 'POST',
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            'content-type': 'application/json',
            ...(sub.format === 'push'
              ? {}
              : {
                  'ce-specversion': '1.0',
                  'ce-id': messageId,
                  'ce-type': PUBSUB_MESSAGE_PUBLISHED,
                  'ce-source': `//pubsub.googleapis.com/projects/${this.opts.projectId}/topics/${this.opts.topic}`,
                  'ce-time': publishTime.toISOString(),
                  'ce-subject': event.subject ?? event.type,
                }),
          },
          body,
          signal: AbortSignal.timeout(10 * 60_000),
        });
        await res.arrayBuffer();
        if (res.ok) {
          this.stats.delivered++;
          return;
        }
        lastError = `HTTP ${res.status}`;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      if (attempt < maxAttempts) {
        this.stats.retried++;
        this.opts.logger.warn('event delivery failed, retrying', { subscription: sub.name, event_type: event.type, event_id: event.id, attempt, error: lastError });
        await sleep(backoff + Math.floor(Math.random() * backoff * 0.2), undefined, { signal: this.stopRetries.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, this.opts.maxBackoffMs ?? 10_000);
      }
    }
    this.stats.deadLettered++;
    this.opts.logger.error('event dead-lettered', undefined, { subscription: sub.name, event_type: event.type, event_id: event.id, error: lastError });
    const dir = join(this.opts.dataDir, 'events');
    await mkdir(dir, { recursive: true });
    await appendFile(join(dir, 'dead-letter.jsonl'), JSON.stringify({ subscription: sub.name, event, error: lastError, at: new Date().toISOString() }) + '\n');
  }
}
