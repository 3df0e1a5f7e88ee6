import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { PlatformEvent } from './model.js';
import type { EventPublisher } from './port.js';

/**
 * Production transport: one Pub/Sub topic for platform events, message data = the structured
 * CloudEvent, attributes for subscription filters, ordering per investigation.
 */
export class PubSubPublisher implements EventPublisher {
  readonly kind = 'pubsub' as const;
  private topic: Topic | null = null;
  private client: PubSub | null = null;

  constructor(private readonly opts: { projectId: string; topic: string; apiEndpoint?: string }) {}

  private async getTopic(): Promise<Topic> {
    if (!this.topic) {
      const { PubSub } = await import('@google-cloud/pubsub');
      this.client = new PubSub({ projectId: this.opts.projectId, ...(this.opts.apiEndpoint ? { apiEndpoint: this.opts.apiEndpoint } : {}) });
      this.topic = this.client.topic(this.opts.topic, { messageOrdering: true });
    }
    return this.topic;
  }

  async publish(event: PlatformEvent): Promise<void> {
    const topic = await this.getTopic();
    try {
      await topic.publishMessage({
        data: Buffer.from(JSON.stringify(event)),
        attributes: { 'ce-type': event.type, 'ce-id': event.id, ...(event.subject ? { 'ce-subject': event.subject } : {}) },
        ...(event.subject ? { orderingKey: event.subject } : {}),
      });
    } catch (error) {
      // A failed publish pauses its ordering key; resume it so the outbox retry can go through.
      if (event.subject) topic.resumePublishing(event.subject);
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
