import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalBigQueryServer } from '../../local/bigquery-rest-server.js';
import { GoogleSigningKeys, MetadataServer } from '../../local/google-stand-ins.js';
import { LocalPubSubServer, type PublishedMessage } from '../../local/pubsub-server.js';
import { startGcsStandIn } from '../integration/gcs-standin.js';
import { LOCAL_ROLE_BINDINGS } from '../../shared/auth/bindings.js';
import { PUBSUB_MESSAGE_PUBLISHED } from '../../shared/events/envelope.js';
import { loadConfig } from '../../shared/platform/config.js';
import { Logger } from '../../shared/platform/logger.js';
import { buildRuntime } from '../../shared/runtime/index.js';
import { LocalFirestoreServer } from '../../shared/store/emulator-server.js';
import { ensureLocalWarehouse, localWarehousePaths } from '../../shared/warehouse/local.js';

/**
 * Production bundles (dist/functions/<name>, built by `npm run build:functions`) started exactly
 * as Cloud Functions starts them — `functions-framework --target=<entry> --source=<bundle>` in a
 * process of their own — with the environment the manifest declares and production adapters
 * (Firestore, Pub/Sub, BigQuery, the `google` token verifier) pointed at local stand-ins that speak
 * the same wire protocols: the embedded Firestore emulator (gRPC), a Pub/Sub Publisher (gRPC), the
 * BigQuery REST stand-in (on the DuckDB warehouse), Google's published signing keys and the
 * metadata server. Nothing of the local stack's wiring is used.
 */
export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const DIST = join(ROOT, 'dist', 'functions');
const FRAMEWORK = join(ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
export const PROJECT = 'tsi-bundle-test';
export const AUDIENCE = 'https://api.bundle.test';
export const TOPIC = 'tsi-events';
/** A requesting system's push-subscription service account (intake). */
export const SERVICE_PRINCIPAL = `requester@${PROJECT}.iam.gserviceaccount.com`;
const DATASET = 'dbt_marts';
const quiet = new Logger({}, () => undefined, 'ERROR');

interface ManifestFunction {
  name: string;
  status: string;
  entry_point: string;
  env: string[];
  trigger: { kind: string };
}
export const manifest = JSON.parse(readFileSync(join(ROOT, 'functions', 'manifest.json'), 'utf8')) as { functions: ManifestFunction[] };
export const activeFunctions = manifest.functions.filter((f) => f.status === 'active');

/** Builds every bundle (the production build script, unchanged). */
export function buildBundles(): string {
  return execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-functions.mjs')], { cwd: ROOT, encoding: 'utf8' });
}

export interface StandIns {
  dataDir: string;
  pubsub: LocalPubSubServer;
  keys: GoogleSigningKeys;
  bigquery: LocalBigQueryServer;
  metadata: MetadataServer;
  /** Values for every setting a bundle may read, by env name. */
  values: Record<string, string>;
  token(email: string): string;
  stop(): Promise<void>;
}

export async function startStandIns(): Promise<StandIns> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tsi-bundle-'));
  const emulator = new LocalFirestoreServer({ dataDir, logger: quiet });
  const { host, port } = await emulator.start(0);
  const pubsub = new LocalPubSubServer([TOPIC]);
  const pubsubHost = await pubsub.start();
  const keys = new GoogleSigningKeys();
  const certsUrl = await keys.start();
  const metadata = new MetadataServer(PROJECT, `api@${PROJECT}.iam.gserviceaccount.com`);
  const metadataHost = await metadata.start();
  await ensureLocalWarehouse({ dataDir, users: 80, seed: 7, logger: quiet });
  const duck = await DuckDBInstance.create(localWarehousePaths(dataDir).file, { access_mode: 'READ_ONLY' });
  const bigquery = new LocalBigQueryServer(await duck.connect(), { dataProject: PROJECT, dataset: DATASET });
  const bigqueryUrl = await bigquery.start();
  const gcs = await startGcsStandIn();

  const values: Record<string, string> = {
    TSI_MODE: 'local',
    GOOGLE_CLOUD_PROJECT: PROJECT,
    TSI_REGION: 'europe-west1',
    TSI_DATA_DIR: dataDir,
    TSI_STORE: 'firestore',
    FIRESTORE_EMULATOR_HOST: `${host}:${port}`,
    TSI_FIRESTORE_DATABASE: '(default)',
    TSI_EVENTS: 'pubsub',
    TSI_EVENTS_TOPIC: TOPIC,
    PUBSUB_EMULATOR_HOST: pubsubHost,
    TSI_WAREHOUSE: 'bigquery',
    TSI_WAREHOUSE_PROJECT: PROJECT,
    TSI_WAREHOUSE_DATASET: DATASET,
    TSI_WAREHOUSE_LOCATION: 'EU',
    // The client uses this as its base URL as is (unlike apiEndpoint, no /bigquery/v2 is added).
    BIGQUERY_EMULATOR_HOST: `${bigqueryUrl}/bigquery/v2`,
    TSI_SECRETS: 'local',
    TSI_AUDIT: 'local',
    TSI_AUDIT_LOG_NAME: 'tsi-audit',
    TSI_IDENTITY: 'google',
    TSI_AUDIENCE: AUDIENCE,
    TSI_GOOGLE_CERTS_URL: certsUrl,
    GCE_METADATA_HOST: metadataHost,
    STORAGE_EMULATOR_HOST: gcs.endpoint,
    TSI_BACKUP_BUCKET: 'tsi-bundle-backups',
    // Versioned like the production vault bucket (the stand-in keeps versions for `versioned-*`).
    TSI_VAULT_BUCKET: 'versioned-tsi-bundle-vault',
    LOG_LEVEL: 'warning',
  };

  // What an operator does once per environment: role bindings, and the keys the data depends on
  // (created by the first write, here from this process, so the bundles find them in place).
  const rt = buildRuntime(loadConfig({ ...values, TSI_STORE: 'emulator', TSI_EVENTS: 'local', TSI_IDENTITY: 'local', TSI_WAREHOUSE: 'duckdb' }), {
    emulatorHost: `${host}:${port}`,
    logger: quiet,
    publisher: { kind: 'local', publish: async () => undefined, ping: async () => undefined, close: async () => undefined },
  });
  await rt.bindings.seedLocal(LOCAL_ROLE_BINDINGS);
  await rt.bindings.put({ email: SERVICE_PRINCIPAL, roles: ['service'], team: null }, 'bundle-suite-setup');
  await rt.close();

  return {
    dataDir,
    pubsub,
    keys,
    bigquery,
    metadata,
    values,
    token: (email) => keys.idToken(email, AUDIENCE),
    async stop() {
      await Promise.allSettled([pubsub.stop(), keys.stop(), metadata.stop(), bigquery.stop(), gcs.close()]);
      duck.closeSync();
      await emulator.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningBundle {
  name: string;
  url: string;
  /** Everything the process wrote, for diagnosis and for scanning (no secrets, no personal data). */
  output(): string;
  stop(): Promise<void>;
}

/** The environment Cloud Functions would give the bundle: what its manifest entry declares, plus the stand-ins' endpoints. */
export function bundleEnv(fn: ManifestFunction, values: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production' };
  for (const key of fn.env) if (values[key] !== undefined) env[key] = values[key]!;
  // Not in the manifest because production never sets them: how this machine stands in for Google.
  // (TSI_MODE=production refuses the *_EMULATOR_HOST variables and TSI_GOOGLE_CERTS_URL.)
  for (const key of ['TSI_MODE', 'TSI_DATA_DIR', 'TSI_STORE', 'FIRESTORE_EMULATOR_HOST', 'TSI_EVENTS', 'PUBSUB_EMULATOR_HOST', 'TSI_WAREHOUSE', 'BIGQUERY_EMULATOR_HOST', 'TSI_SECRETS', 'TSI_AUDIT', 'TSI_IDENTITY', 'TSI_GOOGLE_CERTS_URL', 'GCE_METADATA_HOST', 'STORAGE_EMULATOR_HOST', 'TSI_AUDIENCE']) {
    if (values[key] !== undefined) env[key] = values[key]!;
  }
  return env;
}

/** Starts `functions-framework --target=<entry> --source=dist/functions/<name>` and waits until it answers. */
export async function startBundle(name: string, values: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<RunningBundle> {
  const fn = activeFunctions.find((f) => f.name === name);
  if (!fn) throw new Error(`no active function ${name}`);
  const source = join(DIST, name);
  if (!existsSync(join(source, 'index.js'))) throw new Error(`bundle ${name} is not built (npm run build:functions)`);
  const port = await freePort();
  const signature = fn.trigger.kind === 'http' ? 'http' : 'cloudevent';
  const child: ChildProcess = spawn(process.execPath, [FRAMEWORK, `--target=${fn.entry_point}`, `--source=${source}`, `--signature-type=${signature}`, `--port=${port}`], {
    cwd: source,
    env: { ...bundleEnv(fn, values), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bundle ${name} exited with ${child.exitCode}:\n${output}`);
    try {
      await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`bundle ${name} did not answer within 30 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    name,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** How Eventarc delivers a Pub/Sub message to a function: binary or structured CloudEvent over HTTP. */
export function eventarcDelivery(m: PublishedMessage, mode: 'binary' | 'structured', subscription = `projects/${PROJECT}/subscriptions/eventarc-test`): { headers: Record<string, string>; body: string } {
  const data = { message: { data: m.data.toString('base64'), attributes: m.attributes, messageId: m.messageId, publishTime: m.publishTime.toISOString(), ...(m.orderingKey ? { orderingKey: m.orderingKey } : {}) }, subscription };
  const source = `//pubsub.googleapis.com/${m.topic}`;
  if (mode === 'binary') {
    return {
      headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': m.messageId, 'ce-type': PUBSUB_MESSAGE_PUBLISHED, 'ce-source': source, 'ce-time': m.publishTime.toISOString() },
      body: JSON.stringify(data),
    };
  }
  return {
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({ specversion: '1.0', id: m.messageId, type: PUBSUB_MESSAGE_PUBLISHED, source, time: m.publishTime.toISOString(), datacontenttype: 'application/json', data }),
  };
}
