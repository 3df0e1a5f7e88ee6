import { join } from 'node:path';
import type { Config } from '../platform/config.js';
import { LocalSecretStore } from './local.js';
import type { SecretStore } from './port.js';
import { SecretManagerSecretStore } from './secret-manager.js';

export type { SecretStore } from './port.js';
export { MissingSecretError } from './port.js';

/**
 * Picks the secrets adapter from validated config. Neither adapter touches the disk or the
 * network until the first secret is asked for.
 */
export function createSecretStore(config: Pick<Config, 'adapters' | 'dataDir' | 'projectId'>): SecretStore {
  if (config.adapters.secrets === 'secret-manager') return new SecretManagerSecretStore({ projectId: config.projectId });
  return new LocalSecretStore(join(config.dataDir, 'secrets'));
}
