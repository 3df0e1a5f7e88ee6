import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * The one config loader. Everything configurable comes from the environment, is validated here at
 * start-up, and a production config that selects any local adapter refuses to start.
 */
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

const EnvSchema = z.object({
  TSI_MODE: z.enum(['local', 'production']).default('local'),
  PORT: int(8080, 0, 65535),
  TSI_DATA_DIR: z.string().min(1).default('.local'),
  GOOGLE_CLOUD_PROJECT: z.string().min(1).optional(),
  TSI_REGION: z.string().default('europe-west1'),

  TSI_STORE: z.enum(['emulator', 'firestore']).optional(),
  TSI_FIRESTORE_DATABASE: z.string().default('(default)'),
  TSI_WAREHOUSE: z.enum(['duckdb', 'bigquery']).optional(),
  TSI_WAREHOUSE_PROJECT: z.string().optional(),
  TSI_WAREHOUSE_DATASET: z.string().default('dbt_marts'),
  TSI_WAREHOUSE_LOCATION: z.string().default('EU'),
  TSI_EVENTS: z.enum(['local', 'pubsub']).optional(),
  TSI_EVENTS_TOPIC: z.string().default('tsi-events'),
  TSI_SECRETS: z.enum(['local', 'secret-manager']).optional(),
  TSI_AUDIT: z.enum(['local', 'cloud-logging']).optional(),
  TSI_AUDIT_LOG_NAME: z.string().default('tsi-audit'),
  TSI_IDENTITY: z.enum(['local', 'google']).optional(),
  /** Audience the API expects in ID tokens (its own URL in production). */
  TSI_AUDIENCE: z.string().optional(),
  /** Expected IAP audience (`/projects/N/global/backendServices/M`) when deployed behind IAP. */
  TSI_IAP_AUDIENCE: z.string().optional(),

  TSI_MAX_BODY_BYTES: int(64 * 1024, 1024, 10 * 1024 * 1024),
  TSI_RATE_CREATE_PER_MINUTE: int(30, 1, 10_000),
  TSI_LEASE_SECONDS: int(120, 5, 3600),
  TSI_MAX_ATTEMPTS: int(3, 1, 20),
  TSI_RECONCILE_SECONDS: int(30, 1, 3600),
  TSI_WAREHOUSE_USERS: int(2000, 50, 1_000_000),
  TSI_WAREHOUSE_SEED: int(42, 0, 2 ** 31),
  TSI_LOG_REQUESTS: bool.default(true),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  mode: 'local' | 'production';
  port: number;
  dataDir: string;
  projectId: string;
  region: string;
  adapters: {
    store: 'emulator' | 'firestore';
    warehouse: 'duckdb' | 'bigquery';
    events: 'local' | 'pubsub';
    secrets: 'local' | 'secret-manager';
    audit: 'local' | 'cloud-logging';
    identity: 'local' | 'google';
  };
  firestoreDatabase: string;
  warehouse: { project?: string; dataset: string; location: string; localUsers: number; localSeed: number };
  eventsTopic: string;
  auditLogName: string;
  audience: string;
  iapAudience?: string;
  limits: { maxBodyBytes: number; createPerMinute: number };
  worker: { leaseSeconds: number; maxAttempts: number; reconcileSeconds: number };
  logRequests: boolean;
}

const LOCAL_ADAPTERS = { store: 'emulator', warehouse: 'duckdb', events: 'local', secrets: 'local', audit: 'local', identity: 'local' } as const;
const CLOUD_ADAPTERS = { store: 'firestore', warehouse: 'bigquery', events: 'pubsub', secrets: 'secret-manager', audit: 'cloud-logging', identity: 'google' } as const;

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new ConfigError(`Invalid configuration:\n${lines}`);
  }
  const env = parsed.data;
  const defaults = env.TSI_MODE === 'production' ? CLOUD_ADAPTERS : LOCAL_ADAPTERS;
  const adapters = {
    store: env.TSI_STORE ?? defaults.store,
    warehouse: env.TSI_WAREHOUSE ?? defaults.warehouse,
    events: env.TSI_EVENTS ?? defaults.events,
    secrets: env.TSI_SECRETS ?? defaults.secrets,
    audit: env.TSI_AUDIT ?? defaults.audit,
    identity: env.TSI_IDENTITY ?? defaults.identity,
  };
  if (env.TSI_MODE === 'production') {
    const local = (Object.keys(adapters) as (keyof typeof adapters)[]).filter((k) => adapters[k] === LOCAL_ADAPTERS[k]);
    if (local.length) {
      throw new ConfigError(
        `Refusing to start: TSI_MODE=production selects local adapter(s) for ${local.join(', ')}. ` +
          `Production must use ${local.map((k) => `${k}=${CLOUD_ADAPTERS[k]}`).join(', ')}.`,
      );
    }
    // The Google client libraries silently switch to an emulator when these are set; in production
    // that would send real data to whatever listens there.
    const emulatorVars = ['FIRESTORE_EMULATOR_HOST', 'PUBSUB_EMULATOR_HOST', 'BIGQUERY_EMULATOR_HOST'].filter((k) => source[k]);
    if (emulatorVars.length) {
      throw new ConfigError(`Refusing to start: TSI_MODE=production with emulator variable(s) ${emulatorVars.join(', ')} set. Unset them.`);
    }
    const missing = [
      !env.GOOGLE_CLOUD_PROJECT && 'GOOGLE_CLOUD_PROJECT',
      !env.TSI_AUDIENCE && 'TSI_AUDIENCE',
    ].filter(Boolean);
    if (missing.length) throw new ConfigError(`Refusing to start: production requires ${missing.join(', ')}.`);
  }
  const port = env.PORT;
  return {
    mode: env.TSI_MODE,
    port,
    dataDir: resolve(env.TSI_DATA_DIR),
    projectId: env.GOOGLE_CLOUD_PROJECT ?? 'tsi-local',
    region: env.TSI_REGION,
    adapters,
    firestoreDatabase: env.TSI_FIRESTORE_DATABASE,
    warehouse: {
      project: env.TSI_WAREHOUSE_PROJECT,
      dataset: env.TSI_WAREHOUSE_DATASET,
      location: env.TSI_WAREHOUSE_LOCATION,
      localUsers: env.TSI_WAREHOUSE_USERS,
      localSeed: env.TSI_WAREHOUSE_SEED,
    },
    eventsTopic: env.TSI_EVENTS_TOPIC,
    auditLogName: env.TSI_AUDIT_LOG_NAME,
    audience: env.TSI_AUDIENCE ?? 'tsi-local',
    iapAudience: env.TSI_IAP_AUDIENCE,
    limits: { maxBodyBytes: env.TSI_MAX_BODY_BYTES, createPerMinute: env.TSI_RATE_CREATE_PER_MINUTE },
    worker: { leaseSeconds: env.TSI_LEASE_SECONDS, maxAttempts: env.TSI_MAX_ATTEMPTS, reconcileSeconds: env.TSI_RECONCILE_SECONDS },
    logRequests: env.TSI_LOG_REQUESTS,
  };
}
