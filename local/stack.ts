import type { Server } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { LOCAL_ROLE_BINDINGS } from '../shared/auth/bindings.js';
import { clearEmulatorEndpoint, recordEmulatorEndpoint } from '../shared/backup/local-endpoint.js';
import { WEBHOOK_EVENT_TYPES } from '../shared/events/catalogue.js';
import { LocalEventBus } from '../shared/events/local-bus.js';
import { EventTypes, makeEvent } from '../shared/events/model.js';
import { loadConfig, type Config } from '../shared/platform/config.js';
import { ConfigError } from '../shared/platform/errors.js';
import { rootLogger, type Logger } from '../shared/platform/logger.js';
import { buildRuntime, setRuntime, type Runtime } from '../shared/runtime/index.js';
import { LocalFirestoreServer } from '../shared/store/emulator-server.js';
import { PROJECT_INDEX_FILE } from '../shared/store/emulator/indexes.js';
import { ensureLocalWarehouse } from '../shared/warehouse/local.js';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createGateway } from './gateway.js';

/**
 * The whole platform on one machine: the embedded Firestore emulator, the DuckDB warehouse, the
 * local event bus, local secrets and token issuer, every function behind one gateway. Used by
 * `npm start` and by the end-to-end tests, so both exercise the same thing.
 */
export interface Stack {
  url: string;
  port: number;
  config: Config;
  runtime: Runtime;
  bus: LocalEventBus;
  emulator: LocalFirestoreServer;
  /** Triggers the reconciler now, as Cloud Scheduler would. */
  reconcileNow(): Promise<void>;
  /** Triggers the retention sweep now (through the bus, as Cloud Scheduler would). */
  retentionNow(dryRun?: boolean): Promise<void>;
  /** Triggers the data-quality checks now (through the bus, as Cloud Scheduler would). */
  qualityNow(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(env: NodeJS.ProcessEnv = process.env, logger: Logger = rootLogger): Promise<Stack> {
  const config = loadConfig(env);
  if (config.mode !== 'local') throw new ConfigError('The local stack runs only with TSI_MODE=local.');
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const log = logger.child({ component: 'stack' });

  // Enforces the composite indexes Terraform creates, so a query production would refuse fails here too.
  const emulator = new LocalFirestoreServer({ dataDir: config.dataDir, logger: logger.child({ component: 'firestore-emulator' }), indexes: PROJECT_INDEX_FILE });
  const { host, port: emulatorPort } = await emulator.start(0);
  // Lets `tsi backup` reach the data while this stack holds the folder's lock.
  recordEmulatorEndpoint(config.dataDir, host, emulatorPort);
  await ensureLocalWarehouse({ dataDir: config.dataDir, users: config.warehouse.localUsers, seed: config.warehouse.localSeed, logger: logger.child({ component: 'warehouse' }) });

  const bus = new LocalEventBus({ projectId: config.projectId, topic: config.eventsTopic, dataDir: config.dataDir, logger: logger.child({ component: 'event-bus' }) });
  const runtime = buildRuntime(config, { emulatorHost: `${host}:${emulatorPort}`, publisher: bus, logger });
  setRuntime(runtime);
  // Refuses to start when a key stored data depends on is missing or damaged; generates keys only for an empty data folder.
  await runtime.dataProtection.ensureKeys().catch(async (error: unknown) => {
    setRuntime(null);
    await runtime.close();
    clearEmulatorEndpoint(config.dataDir);
    await emulator.stop();
    throw error;
  });
  await runtime.bindings.seedLocal(LOCAL_ROLE_BINDINGS);
  if (runtime.issuer) await runtime.issuer.certs();

  // Registering the functions is importing them, exactly as the Functions Framework does.
  await import('../functions/api/index.js');
  await import('../functions/worker/index.js');
  await import('../functions/reconciler/index.js');
  await import('../functions/webhooks/index.js');
  await import('../functions/intake/index.js');
  await import('../functions/retention/index.js');
  await import('../functions/erasure/index.js');
  await import('../functions/data-quality/index.js');
  // Each function in the Functions Framework's own server, exactly as Cloud Functions runs it: no
  // middleware of ours around it (framework errors reach the kit through framework-errors.ts).
  const api = getTestServer('api');
  const functions: Record<string, Server> = { worker: getTestServer('worker'), reconciler: getTestServer('reconciler'), webhooks: getTestServer('webhooks'), intake: getTestServer('intake'), retention: getTestServer('retention'), erasure: getTestServer('erasure'), 'data-quality': getTestServer('dataQuality') };
  const gateway = createGateway(runtime, { api, functions });
  await new Promise<void>((resolve, reject) => {
    gateway.once('error', reject);
    gateway.listen(config.port, '127.0.0.1', () => resolve());
  });
  const address = gateway.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://localhost:${port}`;
  const internal = `http://127.0.0.1:${port}`;

  bus.subscribe({ name: 'investigation-worker', types: [EventTypes.investigationRequested], url: `${internal}/_functions/worker` });
  bus.subscribe({ name: 'reconciler', types: [EventTypes.schedulerReconcile], url: `${internal}/_functions/reconciler` });
  bus.subscribe({ name: 'retention', types: [EventTypes.schedulerRetention], url: `${internal}/_functions/retention` });
  bus.subscribe({ name: 'erasure-worker', types: [EventTypes.erasureRequested], url: `${internal}/_functions/erasure` });
  bus.subscribe({ name: 'data-quality', types: [EventTypes.schedulerDataQuality], url: `${internal}/_functions/data-quality` });
  // Every public event fans out to webhook subscriptions; the scheduler tick sweeps due retries.
  bus.subscribe({ name: 'webhooks', types: [...WEBHOOK_EVENT_TYPES, EventTypes.schedulerReconcile], url: `${internal}/_functions/webhooks` });
  // Stand-in for a requesting system's push subscription: a plain Pub/Sub push signed with an ID
  // token of the service principal the message names (in production, the subscription's OIDC
  // service account; docs/decisions/0010).
  bus.subscribe({
    name: 'investigation-intake',
    types: [EventTypes.investigationRequestSubmitted],
    url: `${internal}/_functions/intake`,
    format: 'push',
    pushToken: async (event) => (runtime.issuer ? runtime.issuer.issue(String(event.data.requested_by), { audience: config.audience, ttlSeconds: 600 }) : null),
  });

  // Cloud Scheduler's stand-in: each job's tick published on the bus every interval.
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, job: string, tick: () => Promise<void>) => {
    const t = setInterval(() => void tick().catch((e) => log.warn('scheduler tick failed', { job, error: String(e) })), ms);
    t.unref();
    timers.push(t);
  };
  const reconcileNow = async () => {
    await bus.publish(makeEvent(EventTypes.schedulerReconcile, undefined, { job: 'reconcile' }, runtime.clock.now()));
  };
  const retentionNow = async (dryRun = false) => {
    await bus.publish(makeEvent(EventTypes.schedulerRetention, undefined, { job: 'retention', ...(dryRun ? { dry_run: true } : {}) }, runtime.clock.now()));
  };
  const qualityNow = async () => {
    await bus.publish(makeEvent(EventTypes.schedulerDataQuality, undefined, { job: 'data_quality' }, runtime.clock.now()));
  };
  every(config.worker.reconcileSeconds * 1000, 'reconcile', reconcileNow);
  every(config.retention.intervalMinutes * 60_000, 'retention', () => retentionNow());
  every(config.quality.intervalMinutes * 60_000, 'data_quality', qualityNow);
  // A first reconcile right away picks up work a previous hard kill left behind.
  await reconcileNow();

  let stopped = false;
  return {
    url,
    port,
    config,
    runtime,
    bus,
    emulator,
    reconcileNow,
    retentionNow,
    qualityNow,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearInterval(t);
      // Deliveries in flight still need the gateway, so the bus stops first.
      await bus.close();
      await new Promise<void>((resolve) => {
        gateway.close(() => resolve());
        gateway.closeIdleConnections();
      });
      await runtime.close();
      setRuntime(null);
      clearEmulatorEndpoint(config.dataDir);
      await emulator.stop();
    },
  };
}
