import { z } from 'zod';
import { MalformedRequestError } from '../platform/errors.js';
import { fromZod } from '../platform/problem.js';
import { validateEvent, type PlatformEvent } from './model.js';
import { toPubSubMessage } from './pubsub.js';

/** Eventarc's Pub/Sub wrapper (`google.cloud.pubsub.topic.v1.messagePublished`). */
export const PUBSUB_MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

const MessagePublishedSchema = z.object({
  message: z.object({
    data: z.string().min(1),
    attributes: z.record(z.string(), z.string()).optional(),
    messageId: z.string().optional(),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().optional(),
});

export function wrapForDelivery(event: PlatformEvent, subscription: string, messageId: string, publishTime: Date) {
  const { data, attributes } = toPubSubMessage(event);
  return {
    message: {
      data: data.toString('base64'),
      attributes,
      messageId,
      publishTime: publishTime.toISOString(),
    },
    subscription,
  };
}

/**
 * What a receiving function does first: unwrap the Pub/Sub message and validate our event, the
 * envelope and its data against the catalogue. Receivers acknowledge and drop what fails (see
 * docs/decisions/0010): a redelivery cannot fix it.
 */
export function unwrapDelivery(cloudEvent: { type?: string; data?: unknown }): PlatformEvent {
  if (cloudEvent.type !== PUBSUB_MESSAGE_PUBLISHED) {
    throw new MalformedRequestError(`Unexpected CloudEvent type ${String(cloudEvent.type)}.`);
  }
  return unwrapPushMessage(cloudEvent.data);
}

/**
 * A Pub/Sub push request body (`{message, subscription}`) → our validated event. Eventarc's
 * `messagePublished` data has the same shape, so both receivers share this.
 */
export function unwrapPushMessage(body: unknown): PlatformEvent {
  const wrapper = MessagePublishedSchema.safeParse(body);
  if (!wrapper.success) throw fromZod(wrapper.error, 'message');
  let inner: unknown;
  try {
    inner = JSON.parse(Buffer.from(wrapper.data.message.data, 'base64').toString('utf8'));
  } catch {
    throw new MalformedRequestError('Pub/Sub message data is not JSON.');
  }
  return validateEvent(inner);
}
