import { ConfigError } from '../platform/errors.js';

/**
 * Where the platform keeps its own secrets (signing keys, webhook secrets). Values are opaque
 * strings; callers serialise structured material themselves and validate it when read back.
 */
export interface SecretStore {
  /** The current value; throws MissingSecretError if the secret does not exist. */
  get(name: string): Promise<string>;
  /**
   * The current value, creating it with `create()` if absent (local mode). Production stores never
   * create: secrets there are provisioned by Terraform, so a missing one is a deployment error.
   */
  getOrCreate(name: string, create: () => string): Promise<string>;
}

/** Secret Manager's own naming rule; it also keeps local file names inside the secrets folder. */
const SECRET_NAME = /^[A-Za-z0-9_-]{1,255}$/;

export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new ConfigError(`Invalid secret name "${name.slice(0, 64)}": use 1-255 letters, digits, "_" or "-".`);
  }
}

/** A secret the deployment should have provided. Names are not secret, so they are spelled out. */
export class MissingSecretError extends ConfigError {
  override name = 'MissingSecretError';
  constructor(
    readonly secretName: string,
    detail: string,
  ) {
    super(detail);
  }
}
