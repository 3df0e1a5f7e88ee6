import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { MissingSecretError } from '../../shared/secrets/port.js';
import { SecretManagerSecretStore, type SecretAccessClient } from '../../shared/secrets/secret-manager.js';
import { ConfigError } from '../../shared/platform/errors.js';

/**
 * The production adapter through the real @google-cloud/secret-manager client, against a small
 * in-process gRPC stand-in built from the client's own service definition.
 */
const require = createRequire(import.meta.url);
const DUMMY_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

interface Served {
  server: grpc.Server;
  port: number;
  requests: string[];
  secrets: Record<string, string>;
}

async function startStandIn(secrets: Record<string, string>, denied: string[] = []): Promise<Served> {
  const json = require('@google-cloud/secret-manager/build/protos/protos.json');
  const definition = protoLoader.fromJSON(json, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as any;
  const service = loaded.google.cloud.secretmanager.v1.SecretManagerService.service;
  const requests: string[] = [];
  const server = new grpc.Server();
  server.addService(service, {
    accessSecretVersion(call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const name = call.request.name;
      requests.push(name);
      const m = /^projects\/([^/]+)\/secrets\/([^/]+)\/versions\/latest$/.exec(name);
      if (!m) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'bad name' });
      if (denied.includes(m[2]!)) return callback({ code: grpc.status.PERMISSION_DENIED, details: 'denied' });
      const value = m[1] === 'tsi-prod' ? secrets[m[2]!] : undefined;
      if (value === undefined) return callback({ code: grpc.status.NOT_FOUND, details: `Secret [${name}] not found or has no versions.` });
      callback(null, { name: `projects/${m[1]}/secrets/${m[2]}/versions/3`, payload: { data: Buffer.from(value, 'utf8') } });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port, requests, secrets };
}

describe('SecretManagerSecretStore (production adapter)', () => {
  let standIn: Served;
  const clients: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    standIn = await startStandIn({ 'webhook-signing-key': 'wh-secret-✓' }, ['locked-secret']);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await new Promise<void>((resolve) => standIn.server.tryShutdown(() => resolve()));
  });

  async function store(projectId = 'tsi-prod') {
    const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
    const client = new SecretManagerServiceClient({
      apiEndpoint: '127.0.0.1',
      port: standIn.port,
      sslCreds: grpc.credentials.createInsecure(),
      projectId,
      // Explicit dummy credentials keep the client from probing for a GCE metadata server.
      credentials: { client_email: 'test@tsi-prod.iam.gserviceaccount.com', private_key: DUMMY_KEY },
    });
    clients.push(client);
    return new SecretManagerSecretStore({ projectId, client: client as unknown as SecretAccessClient });
  }

  it('reads the latest version of a secret, once per instance', async () => {
    const s = await store();
    standIn.requests.length = 0;
    await expect(s.get('webhook-signing-key')).resolves.toBe('wh-secret-✓');
    await expect(s.get('webhook-signing-key')).resolves.toBe('wh-secret-✓');
    expect(standIn.requests).toEqual(['projects/tsi-prod/secrets/webhook-signing-key/versions/latest']);
  });

  it('never creates a missing secret: getOrCreate names it and says how to provision it', async () => {
    const s = await store();
    let created = false;
    const error = await s.getOrCreate('local-issuer-signing-key', () => {
      created = true;
      return 'x';
    }).catch((e: unknown) => e);
    expect(created).toBe(false);
    expect(error).toBeInstanceOf(MissingSecretError);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as MissingSecretError).secretName).toBe('local-issuer-signing-key');
    expect((error as Error).message).toMatch(/Secret "local-issuer-signing-key" .* does not exist in project "tsi-prod"/);
    expect((error as Error).message).toMatch(/gcloud secrets create local-issuer-signing-key --project tsi-prod/);
  });

  it('returns an existing secret from getOrCreate without calling create', async () => {
    const s = await store();
    await expect(s.getOrCreate('webhook-signing-key', () => 'replacement')).resolves.toBe('wh-secret-✓');
  });

  it('explains a missing IAM grant', async () => {
    const s = await store();
    await expect(s.get('locked-secret')).rejects.toThrow(/cannot read secret "locked-secret".*roles\/secretmanager\.secretAccessor/);
  });

  it('asks again after a miss, so a secret provisioned later is found', async () => {
    const s = await store();
    await expect(s.get('provisioned-later')).rejects.toBeInstanceOf(MissingSecretError);
    standIn.secrets['provisioned-later'] = 'now-here';
    await expect(s.get('provisioned-later')).resolves.toBe('now-here');
  });

  it('rejects names Secret Manager would not accept before calling it', async () => {
    const s = await store();
    standIn.requests.length = 0;
    await expect(s.get('../etc/passwd')).rejects.toThrow(/Invalid secret name/);
    expect(standIn.requests).toHaveLength(0);
  });
});
