import { systemClock, type Clock } from '../platform/clock.js';
import { ConfigError } from '../platform/errors.js';
import { rootLogger, type Logger } from '../platform/logger.js';
import { TtlCache } from '../platform/ttl-cache.js';
import { MissingSecretError, assertSecretName, type SecretStore } from './port.js';

/** The slice of SecretManagerServiceClient this adapter uses (lets tests point it at a stand-in). */
export interface SecretAccessClient {
  accessSecretVersion(request: { name: string }): Promise<[{ payload?: { data?: Uint8Array | string | null } | null }, ...unknown[]]>;
}

export interface SecretManagerStoreOptions {
  projectId: string;
  /** Built lazily from @google-cloud/secret-manager when omitted. */
  client?: SecretAccessClient | (() => Promise<SecretAccessClient>);
  clock?: Clock;
  logger?: Logger;
  /** How long a value is reused before `latest` is read again, picking up a rotation (default 60 s). */
  ttlMs?: number;
  /** How long past the TTL the last value is served while Secret Manager is failing (default 15 min). */
  maxStaleMs?: number;
}

const GRPC_NOT_FOUND = 5;
const GRPC_PERMISSION_DENIED = 7;

/**
 * Production secrets: the `latest` version from Secret Manager, cached for a short TTL so a
 * rotation (a new version) is picked up without a redeploy. If a refresh fails transiently, the
 * last good value is served for a bounded time and the failure is logged (name only, never the
 * value); a secret that is gone or no longer readable stops being served at once. Secrets are
 * provisioned by Terraform, so this store never creates one.
 */
export class SecretManagerSecretStore implements SecretStore {
  private readonly cache: TtlCache<string>;
  private client: Promise<SecretAccessClient> | null = null;

  constructor(private readonly options: SecretManagerStoreOptions) {
    const logger = options.logger ?? rootLogger.child({ component: 'secrets' });
    this.cache = new TtlCache<string>({
      clock: options.clock ?? systemClock,
      ttlMs: options.ttlMs ?? 60_000,
      maxStaleMs: options.maxStaleMs ?? 15 * 60_000,
      mayServeStale: (error) => !(error instanceof ConfigError),
      onStale: (secret, error, ageMs) =>
        logger.warn('secret refresh failed; serving the last good version', { name: secret, age_ms: ageMs, code: (error as { code?: unknown }).code ?? null }),
    });
  }

  async get(name: string): Promise<string> {
    assertSecretName(name);
    return this.cache.get(name, () => this.access(name));
  }

  /** Never calls `create`: a missing secret in production is a deployment error, named clearly. */
  async getOrCreate(name: string, _create: () => string): Promise<string> {
    return this.get(name);
  }

  private resourceName(name: string): string {
    return `projects/${this.options.projectId}/secrets/${name}/versions/latest`;
  }

  private getClient(): Promise<SecretAccessClient> {
    this.client ??= (async () => {
      const given = this.options.client;
      if (typeof given === 'function') return given();
      if (given) return given;
      const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
      return new SecretManagerServiceClient({ projectId: this.options.projectId }) as unknown as SecretAccessClient;
    })().catch((error) => {
      this.client = null;
      throw error;
    });
    return this.client;
  }

  private async access(name: string): Promise<string> {
    const client = await this.getClient();
    const project = this.options.projectId;
    let response;
    try {
      [response] = await client.accessSecretVersion({ name: this.resourceName(name) });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === GRPC_NOT_FOUND) {
        throw new MissingSecretError(
          name,
          `Secret "${name}" (or an enabled version of it) does not exist in project "${project}". ` +
            `It is provisioned by Terraform; create it with a first version, e.g. ` +
            `\`gcloud secrets create ${name} --project ${project} --data-file=-\`.`,
        );
      }
      if (code === GRPC_PERMISSION_DENIED) {
        throw new ConfigError(
          `The service account cannot read secret "${name}" in project "${project}": ` +
            `grant it roles/secretmanager.secretAccessor on that secret.`,
        );
      }
      throw error;
    }
    const data = response.payload?.data;
    if (data === undefined || data === null) throw new MissingSecretError(name, `Secret "${name}" in project "${project}" has an empty payload.`);
    return typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  }
}
