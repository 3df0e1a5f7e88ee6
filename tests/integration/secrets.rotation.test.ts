import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { ManualClock } from '../../shared/platform/clock.js';
import { Logger } from '../../shared/platform/logger.js';
import { MissingSecretError } from '../../shared/secrets/port.js';
import { SecretManagerSecretStore, type SecretAccessClient } from '../../shared/secrets/secret-manager.js';

/**
 * Rotation and refresh failures of the production adapter, through the real
 * @google-cloud/secret-manager client against an in-process stand-in whose `latest` version can
 * change or fail.
 */
const require = createRequire(import.meta.url);
const DUMMY_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const state: { versions: Record<string, string[]>; failWith: number | null; requests: number } = { versions: {}, failWith: null, requests: 0 };
let server: grpc.Server;
let port: number;
const clients: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  const json = require('@google-cloud/secret-manager/build/protos/protos.json');
  const loaded = grpc.loadPackageDefinition(protoLoader.fromJSON(json, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true })) as any;
  server = new grpc.Server();
  server.addService(loaded.google.cloud.secretmanager.v1.SecretManagerService.service, {
    accessSecretVersion(call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      state.requests++;
      if (state.failWith !== null) return callback({ code: state.failWith, details: 'backend trouble' });
      const m = /^projects\/tsi-prod\/secrets\/([^/]+)\/versions\/latest$/.exec(call.request.name);
      const versions = m ? state.versions[m[1]!] : undefined;
      if (!versions?.length) return callback({ code: grpc.status.NOT_FOUND, details: 'not found' });
      callback(null, { name: `${call.request.name.replace(/latest$/, String(versions.length))}`, payload: { data: Buffer.from(versions.at(-1)!, 'utf8') } });
    },
  });
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});
beforeEach(() => {
  state.versions = { 'webhook-signing-key': ['v1-secret-value'] };
  state.failWith = null;
  state.requests = 0;
});

async function makeStore(clock: ManualClock, logs: string[]) {
  const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
  const client = new SecretManagerServiceClient({
    apiEndpoint: '127.0.0.1',
    port,
    sslCreds: grpc.credentials.createInsecure(),
    projectId: 'tsi-prod',
    credentials: { client_email: 'test@tsi-prod.iam.gserviceaccount.com', private_key: DUMMY_KEY },
  });
  clients.push(client);
  return new SecretManagerSecretStore({
    projectId: 'tsi-prod',
    client: client as unknown as SecretAccessClient,
    clock,
    logger: new Logger({}, (l) => logs.push(l)),
    ttlMs: 60_000,
    maxStaleMs: 600_000,
  });
}

describe('SecretManagerSecretStore: TTL cache and rotation', () => {
  it('picks up a rotated version after the TTL, not before', async () => {
    const clock = new ManualClock();
    const store = await makeStore(clock, []);
    await expect(store.get('webhook-signing-key')).resolves.toBe('v1-secret-value');
    state.versions['webhook-signing-key']!.push('v2-secret-value');
    clock.advance(59_000);
    await expect(store.get('webhook-signing-key')).resolves.toBe('v1-secret-value');
    expect(state.requests).toBe(1);
    clock.advance(1_000);
    await expect(store.get('webhook-signing-key')).resolves.toBe('v2-secret-value');
    expect(state.requests).toBe(2);
  });

  it('keeps serving the last good value through a failing refresh for a bounded time, logging without the value', async () => {
    const clock = new ManualClock();
    const logs: string[] = [];
    const store = await makeStore(clock, logs);
    await store.get('webhook-signing-key');
    state.failWith = grpc.status.INTERNAL;
    clock.advance(61_000);
    await expect(store.get('webhook-signing-key')).resolves.toBe('v1-secret-value');
    expect(logs.some((l) => l.includes('secret refresh failed') && l.includes('webhook-signing-key'))).toBe(true);
    expect(logs.join('\n')).not.toContain('v1-secret-value');
    clock.advance(600_000); // past TTL + max staleness
    await expect(store.get('webhook-signing-key')).rejects.toThrow();
    state.failWith = null;
    await expect(store.get('webhook-signing-key')).resolves.toBe('v1-secret-value');
  });

  it('stops serving a secret that Secret Manager says is gone', async () => {
    const clock = new ManualClock();
    const store = await makeStore(clock, []);
    await store.get('webhook-signing-key');
    delete state.versions['webhook-signing-key'];
    clock.advance(61_000);
    await expect(store.get('webhook-signing-key')).rejects.toBeInstanceOf(MissingSecretError);
  });
});
