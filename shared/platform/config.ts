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
  /** Real table names where they differ from the contract's: `fct_tts_usage=fct_tts_usage_v2,...`. */
  TSI_WAREHOUSE_TABLES: z.string().default(''),
  /** Warehouse guard: widest partition window, per-table overrides, byte budget per role, limits. */
  TSI_GUARD_MAX_WINDOW_DAYS: int(90, 1, 3660),
  TSI_GUARD_WINDOW_DAYS: z.string().default('fct_moderation_flags=366,fct_logins=366,fct_payments=366'),
  TSI_GUARD_BUDGETS: z.string().default('analyst=10737418240,lead=53687091200,service=10737418240,compliance=1073741824'),
  TSI_GUARD_DEFAULT_BUDGET_BYTES: int(0, 0, Number.MAX_SAFE_INTEGER),
  TSI_GUARD_MAX_CONCURRENT: int(4, 1, 256),
  TSI_GUARD_MAX_QUEUED: int(200, 0, 100_000),
  TSI_GUARD_TIMEOUT_MS: int(120_000, 100, 6 * 3600_000),
  TSI_GUARD_CACHE_ENTRIES: int(500, 0, 100_000),
  TSI_GUARD_CACHE_TTL_SECONDS: int(600, 0, 86_400),
  TSI_GUARD_CACHE_MAX_ROWS: int(200_000, 0, 10_000_000),
  TSI_EVENTS: z.enum(['local', 'pubsub']).optional(),
  TSI_EVENTS_TOPIC: z.string().default('tsi-events'),
  TSI_SECRETS: z.enum(['local', 'secret-manager']).optional(),
  TSI_AUDIT: z.enum(['local', 'cloud-logging']).optional(),
  TSI_AUDIT_LOG_NAME: z.string().default('tsi-audit'),
  /** Production: the bucket of the erasure ledger and the backups' key escrow (docs/decisions/0035). */
  TSI_VAULT_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a Cloud Storage bucket name').optional(),
  /** Signed audit-chain checkpoints (shared/audit/anchor.ts): every N records, every T seconds (0: off), on shutdown. */
  TSI_AUDIT_CHECKPOINT_EVERY: int(1000, 1, 1_000_000),
  TSI_AUDIT_CHECKPOINT_SECONDS: int(300, 0, 86_400),
  /** Cloud Storage bucket (locked retention) for checkpoints; unset locally: `<dataDir>/audit-checkpoints/`. */
  TSI_AUDIT_CHECKPOINT_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/).optional(),
  TSI_AUDIT_CHECKPOINT_PREFIX: z.string().regex(/^[\w.-]+(?:\/[\w.-]+)*$/).default('audit-checkpoints'),
  TSI_IDENTITY: z.enum(['local', 'google']).optional(),
  /** Audience the API expects in ID tokens (its own URL in production). */
  TSI_AUDIENCE: z.string().optional(),
  /** Expected IAP audience (`/projects/N/global/backendServices/M`) when deployed behind IAP. */
  TSI_IAP_AUDIENCE: z.string().optional(),
  /**
   * Where the `google` identity mode fetches the signing keys of ID tokens (PEM map by kid).
   * Unset: Google's published certs. Local mode only: lets the production verifier run against a
   * local key server (the bundle suite); production always trusts Google's own keys.
   */
  TSI_GOOGLE_CERTS_URL: z.url({ protocol: /^https?$/ }).optional(),

  TSI_MAX_BODY_BYTES: int(64 * 1024, 1024, 10 * 1024 * 1024),
  TSI_RATE_CREATE_PER_MINUTE: int(30, 1, 10_000),
  /** Per-principal route limits (shared/limits/route-limits.ts; docs/operations.md "Rate limits"). */
  TSI_RATE_WRITE_PER_MINUTE: int(60, 1, 100_000),
  TSI_RATE_EXPENSIVE_READ_PER_MINUTE: int(120, 1, 100_000),
  TSI_RATE_QUERY_PER_MINUTE: int(20, 1, 100_000),
  /** Worker lease; renewed every third of it while a run goes on, and longer than one step (query timeout 120 s, LLM 10 s) with margin. */
  TSI_LEASE_SECONDS: int(300, 5, 3600),
  TSI_MAX_ATTEMPTS: int(3, 1, 20),
  TSI_RECONCILE_SECONDS: int(30, 1, 3600),
  /** Local stand-in for the retention sweep's Cloud Scheduler job (minutes between sweeps). */
  TSI_RETENTION_INTERVAL_MINUTES: int(60, 1, 10_080),
  /** Local stand-in for the data-quality job's Cloud Scheduler job (minutes between runs). */
  TSI_QUALITY_INTERVAL_MINUTES: int(60, 1, 10_080),
  TSI_WAREHOUSE_USERS: int(2000, 50, 1_000_000),
  TSI_WAREHOUSE_SEED: int(42, 0, 2 ** 31),
  TSI_LOG_REQUESTS: bool.default(true),
  /** OpenAI-compatible chat-completions base URL for the LLM planner (unset: LLM planner unavailable). */
  TSI_LLM_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  TSI_LLM_MODEL: z.string().min(1).max(200).optional(),
  /** Name of the secret (SecretStore) holding the API key; the key itself is never in config. */
  TSI_LLM_API_KEY_SECRET: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/).default('llm-api-key'),
  TSI_LLM_TIMEOUT_MS: int(10_000, 100, 120_000),
});

export type Env = z.infer<typeof EnvSchema>;
/** Every setting loadConfig understands (the per-function schemas in functions/manifest.json must use these or function-config.ts's own). */
export const CONFIG_KEYS: readonly string[] = Object.keys(EnvSchema.shape);

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
  warehouse: { project?: string; dataset: string; location: string; localUsers: number; localSeed: number; tables: Record<string, string> };
  guard: {
    maxWindowDays: number;
    windowDaysByTable: Record<string, number>;
    budgetBytesByRole: Record<string, number>;
    defaultBudgetBytes: number;
    maxConcurrent: number;
    maxQueued: number;
    timeoutMs: number;
    cacheEntries: number;
    cacheTtlMs: number;
    cacheMaxRows: number;
  };
  eventsTopic: string;
  auditLogName: string;
  /** Erasure ledger + key escrow bucket (production); locally `<dataDir>/vault`. */
  vaultBucket?: string;
  auditCheckpoints: { every: number; intervalSeconds: number; bucket?: string; prefix: string };
  audience: string;
  iapAudience?: string;
  /** Signing keys of ID tokens in `google` identity mode; undefined = Google's (see TSI_GOOGLE_CERTS_URL). */
  googleCertsUrl?: string;
  limits: { maxBodyBytes: number; createPerMinute: number; writePerMinute: number; expensiveReadPerMinute: number; queryPerMinute: number };
  worker: { leaseSeconds: number; maxAttempts: number; reconcileSeconds: number };
  retention: { intervalMinutes: number };
  quality: { intervalMinutes: number };
  logRequests: boolean;
  /** LLM planner settings; used only when the `llm_planner` feature flag is on (agent/llm/). */
  llm: { endpoint?: string; model?: string; apiKeySecret: string; timeoutMs: number };
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
  const pairs = (name: string, text: string, value: (v: string) => string | number | null) => {
    const out: Record<string, string | number> = {};
    for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [k, v] = part.split('=').map((x) => x?.trim());
      const parsedValue = k && v ? value(v) : null;
      if (!k || !/^[a-z][a-z0-9_]*$/.test(k) || parsedValue === null) throw new ConfigError(`Invalid configuration:\n  ${name}: expected name=value pairs separated by commas, got "${part}"`);
      out[k] = parsedValue;
    }
    return out;
  };
  const count = (v: string) => (/^\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : null);
  const warehouseTables = pairs('TSI_WAREHOUSE_TABLES', env.TSI_WAREHOUSE_TABLES, (v) => (/^[A-Za-z0-9_$-]{1,1024}$/.test(v) ? v : null)) as Record<string, string>;
  const windowDaysByTable = pairs('TSI_GUARD_WINDOW_DAYS', env.TSI_GUARD_WINDOW_DAYS, count) as Record<string, number>;
  const budgetBytesByRole = pairs('TSI_GUARD_BUDGETS', env.TSI_GUARD_BUDGETS, count) as Record<string, number>;
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
    const emulatorVars = ['FIRESTORE_EMULATOR_HOST', 'PUBSUB_EMULATOR_HOST', 'BIGQUERY_EMULATOR_HOST', 'STORAGE_EMULATOR_HOST'].filter((k) => source[k]);
    if (emulatorVars.length) {
      throw new ConfigError(`Refusing to start: TSI_MODE=production with emulator variable(s) ${emulatorVars.join(', ')} set. Unset them.`);
    }
    if (env.TSI_GOOGLE_CERTS_URL) throw new ConfigError('Refusing to start: TSI_GOOGLE_CERTS_URL is for local runs; production verifies ID tokens against Google\'s own keys. Unset it.');
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
      tables: warehouseTables,
    },
    guard: {
      maxWindowDays: env.TSI_GUARD_MAX_WINDOW_DAYS,
      windowDaysByTable,
      budgetBytesByRole,
      defaultBudgetBytes: env.TSI_GUARD_DEFAULT_BUDGET_BYTES,
      maxConcurrent: env.TSI_GUARD_MAX_CONCURRENT,
      maxQueued: env.TSI_GUARD_MAX_QUEUED,
      timeoutMs: env.TSI_GUARD_TIMEOUT_MS,
      cacheEntries: env.TSI_GUARD_CACHE_ENTRIES,
      cacheTtlMs: env.TSI_GUARD_CACHE_TTL_SECONDS * 1000,
      cacheMaxRows: env.TSI_GUARD_CACHE_MAX_ROWS,
    },
    eventsTopic: env.TSI_EVENTS_TOPIC,
    auditLogName: env.TSI_AUDIT_LOG_NAME,
    ...(env.TSI_VAULT_BUCKET ? { vaultBucket: env.TSI_VAULT_BUCKET } : {}),
    auditCheckpoints: { every: env.TSI_AUDIT_CHECKPOINT_EVERY, intervalSeconds: env.TSI_AUDIT_CHECKPOINT_SECONDS, bucket: env.TSI_AUDIT_CHECKPOINT_BUCKET, prefix: env.TSI_AUDIT_CHECKPOINT_PREFIX },
    audience: env.TSI_AUDIENCE ?? 'tsi-local',
    iapAudience: env.TSI_IAP_AUDIENCE,
    ...(env.TSI_GOOGLE_CERTS_URL ? { googleCertsUrl: env.TSI_GOOGLE_CERTS_URL } : {}),
    limits: {
      maxBodyBytes: env.TSI_MAX_BODY_BYTES,
      createPerMinute: env.TSI_RATE_CREATE_PER_MINUTE,
      writePerMinute: env.TSI_RATE_WRITE_PER_MINUTE,
      expensiveReadPerMinute: env.TSI_RATE_EXPENSIVE_READ_PER_MINUTE,
      queryPerMinute: env.TSI_RATE_QUERY_PER_MINUTE,
    },
    worker: { leaseSeconds: env.TSI_LEASE_SECONDS, maxAttempts: env.TSI_MAX_ATTEMPTS, reconcileSeconds: env.TSI_RECONCILE_SECONDS },
    retention: { intervalMinutes: env.TSI_RETENTION_INTERVAL_MINUTES },
    quality: { intervalMinutes: env.TSI_QUALITY_INTERVAL_MINUTES },
    logRequests: env.TSI_LOG_REQUESTS,
    llm: { endpoint: env.TSI_LLM_ENDPOINT, model: env.TSI_LLM_MODEL, apiKeySecret: env.TSI_LLM_API_KEY_SECRET, timeoutMs: env.TSI_LLM_TIMEOUT_MS },
  };
}
