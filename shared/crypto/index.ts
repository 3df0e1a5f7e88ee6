import type { Firestore } from '@google-cloud/firestore';
import { join } from 'node:path';
import type { Clock } from '../platform/clock.js';
import type { Config } from '../platform/config.js';
import { ConfigError } from '../platform/errors.js';
import type { SecretStore } from '../secrets/port.js';
import { BlindIndexer } from './blind-index.js';
import { CloudKmsKek } from './kek/cloud-kms.js';
import { LocalKek } from './kek/local.js';
import type { KeyEncryptionKey } from './kek/port.js';
import { KeyCustody } from './key-custody.js';
import { DataProtection } from './service.js';
import { SubjectKeyring } from './subject-keys.js';

export { DataProtection, type DecryptFieldInput, type EncryptFieldInput, type RevealResult, type SubjectKeyRef, type SealedValue } from './service.js';
export { SubjectErasedError, FieldDecryptionError, FieldBindingError, CiphertextTamperedError, MalformedEnvelopeError, KeyUnwrapError, SubjectKeyChangedError } from './errors.js';
export { isEnvelope, envelopeKey } from './envelope.js';
export type { SubjectRef } from './normalise.js';
export type { DestroyResult, RewrapOptions, RewrapReport, SubjectKeyStatus } from './subject-keys.js';
export { SUBJECT_KEYS_COLLECTION } from './subject-keys.js';
export { KeyMaterialError, type KeyCheck } from './key-custody.js';

/**
 * The KEK follows the secrets adapter (Secret Manager → Cloud KMS, local files → the local key
 * file), so production can never pick the local one. The KMS key comes from `TSI_KMS_KEY` (set by
 * Terraform for functions whose manifest entry lists it); a function without it fails on first
 * use with a message saying what to add, not at start-up.
 */
export function createKek(config: Pick<Config, 'adapters' | 'dataDir'>, options: { kmsKeyName?: string; clock?: Clock; mayCreate?: () => Promise<boolean> } = {}): KeyEncryptionKey {
  if (config.adapters.secrets === 'secret-manager') {
    if (options.kmsKeyName) return new CloudKmsKek({ keyName: options.kmsKeyName });
    const missing = () => Promise.reject(new ConfigError('TSI_KMS_KEY is not set for this function: add "TSI_KMS_KEY" to its env and "kms" to its access in functions/manifest.json.'));
    return { kind: 'cloud-kms', wrap: missing, unwrap: missing };
  }
  const clock = options.clock;
  return new LocalKek(join(config.dataDir, 'keys'), clock ? () => clock.now() : () => new Date(), options.mayCreate);
}

/** Builds the data-protection services; nothing touches disk, KMS or Firestore until first use. */
export function createDataProtection(deps: { config: Pick<Config, 'adapters' | 'dataDir'>; firestore: Firestore; secrets: SecretStore; clock: Clock; kmsKeyName?: string; kek?: KeyEncryptionKey }): DataProtection {
  // Keys are generated only when no stored data depends on them (key-custody.ts).
  const mayCreateKek = () => custody.kekMayBeCreated();
  const kek = deps.kek ?? createKek(deps.config, { clock: deps.clock, mayCreate: mayCreateKek, ...(deps.kmsKeyName ? { kmsKeyName: deps.kmsKeyName } : {}) });
  const custody: KeyCustody = new KeyCustody({ db: deps.firestore, kek, secrets: deps.secrets, clock: deps.clock, dataDir: deps.config.dataDir });
  const keyring = new SubjectKeyring({ db: deps.firestore, kek, clock: deps.clock });
  return new DataProtection({ keyring, indexer: new BlindIndexer(deps.secrets, () => custody.blindIndexMayBeCreated()), custody, clock: deps.clock });
}
