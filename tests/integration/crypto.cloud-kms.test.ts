import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCipheriv, createDecipheriv, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Firestore } from '@google-cloud/firestore';
import { BlindIndexer } from '../../shared/crypto/blind-index.js';
import { crc32c } from '../../shared/crypto/crc32c.js';
import { KeyUnwrapError, SubjectErasedError } from '../../shared/crypto/errors.js';
import { CloudKmsKek, type KmsClient } from '../../shared/crypto/kek/cloud-kms.js';
import { DataProtection } from '../../shared/crypto/service.js';
import { SubjectKeyring, wrapAad } from '../../shared/crypto/subject-keys.js';
import { ManualClock } from '../../shared/platform/clock.js';
import { ConfigError } from '../../shared/platform/errors.js';
import { Logger } from '../../shared/platform/logger.js';
import { LocalSecretStore } from '../../shared/secrets/local.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { createFirestore } from '../../shared/store/firestore.js';

/**
 * The production KEK through the real @google-cloud/kms client, against an in-process gRPC
 * stand-in of KeyManagementService Encrypt/Decrypt built from the client's own protos. The
 * stand-in keeps key versions, a primary, CRC32C checks and AAD like Cloud KMS does.
 */
const require = createRequire(import.meta.url);
const DUMMY_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const KEY = 'projects/tsi-prod/locations/europe-west1/keyRings/tsi-prod/cryptoKeys/tsi-kek';

interface Kms {
  server: grpc.Server;
  port: number;
  versions: Map<number, { key: Buffer; enabled: boolean }>;
  primary: number;
  calls: string[];
  deny: boolean;
  corruptResponses: boolean;
}

async function startKms(): Promise<Kms> {
  const json = require('@google-cloud/kms/build/protos/protos.json');
  const definition = protoLoader.fromJSON(json, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as any;
  const service = loaded.google.cloud.kms.v1.KeyManagementService.service;
  const kms: Kms = { server: new grpc.Server(), port: 0, versions: new Map([[1, { key: randomBytes(32), enabled: true }]]), primary: 1, calls: [], deny: false, corruptResponses: false };
  const crcOk = (data: Buffer, field: { value?: string } | null) => field === null || field === undefined || Number(field.value) === crc32c(data);
  type Call = grpc.ServerUnaryCall<any, unknown>;
  kms.server.addService(service, {
    encrypt(call: Call, cb: grpc.sendUnaryData<unknown>) {
      const r = call.request;
      kms.calls.push(`encrypt ${r.name}`);
      if (kms.deny) return cb({ code: grpc.status.PERMISSION_DENIED, details: 'Permission cloudkms.cryptoKeyVersions.useToEncrypt denied' });
      if (r.name !== KEY) return cb({ code: grpc.status.NOT_FOUND, details: 'key not found' });
      const plaintext = Buffer.from(r.plaintext);
      const aad = Buffer.from(r.additionalAuthenticatedData);
      if (!crcOk(plaintext, r.plaintextCrc32c) || !crcOk(aad, r.additionalAuthenticatedDataCrc32c)) return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'checksum mismatch' });
      const version = kms.primary;
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', kms.versions.get(version)!.key, iv);
      c.setAAD(aad);
      const ciphertext = Buffer.concat([Buffer.from([version]), iv, c.update(plaintext), c.final(), c.getAuthTag()]);
      cb(null, {
        name: `${KEY}/cryptoKeyVersions/${version}`,
        ciphertext,
        ciphertextCrc32c: { value: String((crc32c(ciphertext) ^ (kms.corruptResponses ? 1 : 0)) >>> 0) },
        verifiedPlaintextCrc32c: r.plaintextCrc32c !== null,
        verifiedAdditionalAuthenticatedDataCrc32c: r.additionalAuthenticatedDataCrc32c !== null,
        protectionLevel: 'SOFTWARE',
      });
    },
    decrypt(call: Call, cb: grpc.sendUnaryData<unknown>) {
      const r = call.request;
      kms.calls.push(`decrypt ${r.name}`);
      if (kms.deny) return cb({ code: grpc.status.PERMISSION_DENIED, details: 'denied' });
      if (r.name !== KEY) return cb({ code: grpc.status.NOT_FOUND, details: 'key not found' });
      const ct = Buffer.from(r.ciphertext);
      const aad = Buffer.from(r.additionalAuthenticatedData);
      if (!crcOk(ct, r.ciphertextCrc32c)) return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'checksum mismatch' });
      const version = kms.versions.get(ct[0]!);
      if (!version?.enabled) return cb({ code: grpc.status.FAILED_PRECONDITION, details: 'key version is not enabled' });
      try {
        const d = createDecipheriv('aes-256-gcm', version.key, ct.subarray(1, 13));
        d.setAAD(aad);
        d.setAuthTag(ct.subarray(ct.length - 16));
        const plaintext = Buffer.concat([d.update(ct.subarray(13, ct.length - 16)), d.final()]);
        cb(null, { plaintext, plaintextCrc32c: { value: String((crc32c(plaintext) ^ (kms.corruptResponses ? 1 : 0)) >>> 0) }, usedPrimary: ct[0] === kms.primary, protectionLevel: 'SOFTWARE' });
      } catch {
        cb({ code: grpc.status.INVALID_ARGUMENT, details: 'Decryption failed: the ciphertext is invalid.' });
      }
    },
  });
  kms.port = await new Promise<number>((resolve, reject) =>
    kms.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return kms;
}

describe('CloudKmsKek (production adapter) through @google-cloud/kms', () => {
  let kms: Kms;
  let server: LocalFirestoreServer;
  let db: Firestore;
  let dir: string;
  const clients: { close(): Promise<void> }[] = [];
  const clock = new ManualClock(new Date('2026-03-01T09:00:00Z'));

  beforeAll(async () => {
    kms = await startKms();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsi-kms-'));
    server = new LocalFirestoreServer({ dataDir: path.join(dir, 'firestore'), logger: new Logger({}, () => {}) });
    const { host, port } = await server.start(0);
    db = createFirestore({ projectId: 'test', emulatorHost: `${host}:${port}` });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await db.terminate();
    await server.stop();
    await new Promise<void>((resolve) => kms.server.tryShutdown(() => resolve()));
  });
  beforeEach(() => {
    kms.deny = false;
    kms.corruptResponses = false;
  });

  async function kek() {
    const { KeyManagementServiceClient } = await import('@google-cloud/kms');
    const client = new KeyManagementServiceClient({
      apiEndpoint: '127.0.0.1',
      port: kms.port,
      sslCreds: grpc.credentials.createInsecure(),
      credentials: { client_email: 'test@tsi-prod.iam.gserviceaccount.com', private_key: DUMMY_KEY },
    });
    clients.push(client);
    return new CloudKmsKek({ keyName: KEY, client: client as unknown as KmsClient });
  }

  async function protection() {
    const k = await kek();
    const keyring = new SubjectKeyring({ db, kek: k, clock, collection: 'subject_keys_kms' });
    return new DataProtection({ keyring, indexer: new BlindIndexer(new LocalSecretStore(path.join(dir, 'secrets'))) });
  }

  it('wraps data keys with KMS Encrypt (recording the key version) and unwraps with Decrypt on the CryptoKey', async () => {
    const k = await kek();
    const dek = randomBytes(32);
    kms.calls.length = 0;
    const wrapped = await k.wrap(dek, wrapAad('a'.repeat(43), 1));
    expect(wrapped.kekVersion).toBe(`${KEY}/cryptoKeyVersions/1`);
    const opened = await k.unwrap(wrapped, wrapAad('a'.repeat(43), 1));
    expect(opened.dek.equals(dek)).toBe(true);
    expect(opened.current).toBe(true);
    expect(kms.calls).toEqual([`encrypt ${KEY}`, `decrypt ${KEY}`]);
  });

  it('refuses to unwrap a data key bound to another subject (AAD)', async () => {
    const k = await kek();
    const wrapped = await k.wrap(randomBytes(32), wrapAad('a'.repeat(43), 1));
    await expect(k.unwrap(wrapped, wrapAad('b'.repeat(43), 1))).rejects.toBeInstanceOf(KeyUnwrapError);
    await expect(k.unwrap(wrapped, wrapAad('a'.repeat(43), 2))).rejects.toBeInstanceOf(KeyUnwrapError);
  });

  it('discards responses whose CRC32C does not match', async () => {
    const k = await kek();
    const wrapped = await k.wrap(randomBytes(32), Buffer.from('x'));
    kms.corruptResponses = true;
    await expect(k.wrap(randomBytes(32), Buffer.from('x'))).rejects.toThrow(/corrupted in transit/);
    await expect(k.unwrap(wrapped, Buffer.from('x'))).rejects.toThrow(/corrupted in transit/);
  });

  it('explains a missing IAM grant', async () => {
    const k = await kek();
    kms.deny = true;
    const error = await k.wrap(randomBytes(32), Buffer.from('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/roles\/cloudkms\.cryptoKeyEncrypterDecrypter/);
  });

  it('encrypts fields end to end, survives a KMS key rotation, and re-wraps onto the new primary', async () => {
    const dp = await protection();
    const envs: string[] = [];
    for (let i = 0; i < 3; i++) envs.push(await dp.encryptField({ subjectRef: { type: 'email', value: `p${i}@example.com` }, docPath: `investigations/inv_${i}`, field: 'subject.value', plaintext: `p${i}@example.com` }));
    // KMS rotates: a new primary version; the old one still decrypts.
    kms.versions.set(2, { key: randomBytes(32), enabled: true });
    kms.primary = 2;
    const after = await protection();
    await expect(after.decryptField({ envelope: envs[0]!, docPath: 'investigations/inv_0', field: 'subject.value' })).resolves.toBe('p0@example.com');
    const report = await after.rewrapAll({ batchSize: 2 });
    expect(report).toMatchObject({ scanned: 3, rewrapped: 3, next: null });
    const docs = await db.collection('subject_keys_kms').get();
    expect(docs.docs.map((d) => d.get('kek_version'))).toEqual(Array(3).fill(`${KEY}/cryptoKeyVersions/2`));
    // With version 1 disabled, everything still opens: no data key depends on it any more.
    kms.versions.get(1)!.enabled = false;
    const reader = await protection();
    for (let i = 0; i < 3; i++) await expect(reader.decryptField({ envelope: envs[i]!, docPath: `investigations/inv_${i}`, field: 'subject.value' })).resolves.toBe(`p${i}@example.com`);
    // Crypto-shredding works the same with KMS.
    await reader.destroySubjectKey({ type: 'email', value: 'p1@example.com' });
    await expect((await protection()).decryptField({ envelope: envs[1]!, docPath: 'investigations/inv_1', field: 'subject.value' })).rejects.toBeInstanceOf(SubjectErasedError);
  });
});
