import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { Logger } from '../platform/logger.js';
import { InvalidEventError, specOf } from './catalogue.js';
import { validateEvent, type PlatformEvent } from './model.js';
import type { EventPublisher } from './port.js';

export interface PubSubMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey?: string;
}

/**
 * The Pub/Sub message for one event (pure). Data is the structured-mode CloudEvent; attributes let
 * subscriptions filter without parsing it (`attributes.type = "investigation.completed"`); the
 * ordering key keeps one investigation's events in order while different investigations flow
 * in parallel. Attribute values are ids and type names only, never personal data.
 */
export function toPubSubMessage(event: PlatformEvent): PubSubMessage {
  const spec = specOf(event.type);
  if (!spec) throw new InvalidEventError(event.type, ['unknown event type']);
  const investigationId = typeof event.data.investigation_id === 'string' ? event.data.investigation_id : undefined;
  return {
    data: Buffer.from(JSON.stringify(event)),
    attributes: {
      'ce-specversion': event.specversion,
      'ce-id': event.id,
      'ce-type': event.type,
      'ce-source': event.source,
      'ce-time': event.time,
      ...(event.subject ? { 'ce-subject': event.subject } : {}),
      type: spec.name,
      version: String(spec.version),
      ...(investigationId ? { investigation_id: investigationId } : {}),
    },
    ...(investigationId ? { orderingKey: investigationId } : {}),
  };
}

/**
 * Production transport: one Pub/Sub topic for platform events, message data = the structured
 * CloudEvent, attributes for subscription filters, ordering per investigation. Every event is
 * validated against the catalogue before it leaves: an invalid one is a programming error,
 * logged and refused (it stays in the outbox, where the reconciler's warnings keep it visible).
 */
export class PubSubPublisher implements EventPublisher {
  readonly kind = 'pubsub' as const;
  private topic: Topic | null = null;
  private client: PubSub | null = null;

  constructor(private readonly opts: { projectId: string; topic: string; apiEndpoint?: string; logger?: Logger; client?: PubSub }) {}

  private async getTopic(): Promise<Topic> {
    if (!this.topic) {
      if (this.opts.client) this.client = this.opts.client;
      else {
        const { PubSub } = await import('@google-cloud/pubsub');
        this.client = new PubSub({ projectId: this.opts.projectId, ...(this.opts.apiEndpoint ? { apiEndpoint: this.opts.apiEndpoint } : {}) });
      }
      this.topic = this.client.topic(this.opts.topic, { messageOrdering: true });
    }
    return this.topic;
  }

  async publish(event: PlatformEvent): Promise<void> {
    let message: PubSubMessage;
    try {
      message = toPubSubMessage(validateEvent(event));
    } catch (error) {
      this.opts.logger?.error('refusing to publish an invalid event', error, { event_id: event.id, event_type: event.type });
      throw error;
    }
    const topic = await this.getTopic();
    try {
      await topic.publishMessage(message);
    } catch (error) {
      // A failed publish pauses its ordering key; resume it so the outbox retry can go through.
      if (message.orderingKey) topic.resumePublishing(message.orderingKey);
      throw error;
    }
  }

  async ping(): Promise<void> {
    const topic = await this.getTopic();
    await topic.getMetadata();
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}
