import type { PlatformEvent } from './model.js';

export interface EventPublisher {
  readonly kind: 'local' | 'pubsub';
  publish(event: PlatformEvent): Promise<void>;
  /** Readiness: proves the transport accepts messages now. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
