import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * A local gRPC server speaking the Pub/Sub Publisher API for the calls the production publisher
 * (shared/events/pubsub.ts, through @google-cloud/pubsub) makes: `GetTopic` (readiness) and
 * `Publish` (with ordering keys and attributes). Point a client at it with
 * `PUBSUB_EMULATOR_HOST=127.0.0.1:<port>`, as with Google's emulator. Used by the bundle suite,
 * which forwards each message to the event functions as Eventarc would; never by the platform.
 *
 * Does NOT implement: subscriptions, pull/streaming pull, acks, schemas, IAM, topic management
 * beyond the topics named at start.
 */
export interface PublishedMessage {
  topic: string;
  messageId: string;
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
  publishTime: Date;
}

export class LocalPubSubServer {
  private server: grpc.Server | null = null;
  private next = 1;
  readonly published: PublishedMessage[] = [];
  private readonly listeners: ((m: PublishedMessage) => void)[] = [];

  constructor(private readonly topics: string[]) {}

  /** Called for every message, after it is acknowledged to the publisher. */
  onPublish(listener: (m: PublishedMessage) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<string> {
    const require = createRequire(import.meta.url);
    const json = require('@google-cloud/pubsub/build/protos/protos.json');
    const definition = protoLoader.fromJSON(json, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { google: { pubsub: { v1: { Publisher: { service: grpc.ServiceDefinition } } } } };
    const server = new grpc.Server();
    const known = (name: string) => this.topics.some((t) => name.endsWith(`/topics/${t}`));
    server.addService(loaded.google.pubsub.v1.Publisher.service, {
      getTopic: (call: grpc.ServerUnaryCall<{ topic: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        if (!known(call.request.topic)) return callback({ code: grpc.status.NOT_FOUND, details: 'Resource not found' });
        callback(null, { name: call.request.topic });
      },
      publish: (call: grpc.ServerUnaryCall<{ topic: string; messages: { data: Buffer; attributes: Record<string, string>; orderingKey: string }[] }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const { topic, messages } = call.request;
        if (!known(topic)) return callback({ code: grpc.status.NOT_FOUND, details: 'Resource not found' });
        const accepted = messages.map((m) => ({ topic, messageId: String(this.next++), data: Buffer.from(m.data ?? []), attributes: { ...m.attributes }, orderingKey: m.orderingKey ?? '', publishTime: new Date() }));
        this.published.push(...accepted);
        callback(null, { messageIds: accepted.map((m) => m.messageId) });
        for (const m of accepted) for (const listener of this.listeners) listener(m);
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    this.server = server;
    return `127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
}
