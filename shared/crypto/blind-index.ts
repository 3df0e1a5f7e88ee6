import { createHmac, randomBytes } from 'node:crypto';
import { ConfigError } from '../platform/errors.js';
import { MissingSecretError, type SecretStore } from '../secrets/port.js';
import { blindIndexInput, type SubjectRef } from './normalise.js';

/**
 * Blind index: a keyed HMAC-SHA256 of the normalised subject, so documents can be found by subject
 * ("every investigation about this email") without storing the value. Keyed, because a plain hash
 * of an email or an IPv4 address is reversed by enumeration. The key is a dedicated secret
 * (`tsi-blind-index-key`, 32 bytes base64), created on first start locally, provisioned by
 * Terraform in production. Output: base64url, 43 characters, usable as a Firestore document id.
 */
export const BLIND_INDEX_SECRET = 'tsi-blind-index-key';

/** Pure: the index of a subject under a given key. */
export function computeBlindIndex(key: Buffer, subject: SubjectRef): string {
  if (key.length < 32) throw new TypeError('blind index key must be at least 32 bytes');
  return createHmac('sha256', key).update(blindIndexInput(subject), 'utf8').digest('base64url');
}

export class BlindIndexer {
  private key: Promise<Buffer> | null = null;

  constructor(
    private readonly secrets: SecretStore,
    /** Asked before generating a missing key: false when stored records carry indexes made with it (key-custody.ts). */
    private readonly mayCreate?: () => Promise<boolean>,
  ) {}

  async index(subject: SubjectRef): Promise<string> {
    return computeBlindIndex(await this.loadKey(), subject);
  }

  private loadKey(): Promise<Buffer> {
    this.key ??= this.read()
      .then((text) => {
        const key = Buffer.from(text.trim(), 'base64');
        if (key.length < 32) throw new ConfigError(`Secret "${BLIND_INDEX_SECRET}" must hold at least 32 random bytes, base64.`);
        return key;
      })
      .catch((error) => {
        this.key = null;
        throw error;
      });
    return this.key;
  }

  private async read(): Promise<string> {
    if (!this.mayCreate) return this.secrets.getOrCreate(BLIND_INDEX_SECRET, () => randomBytes(32).toString('base64'));
    try {
      return await this.secrets.get(BLIND_INDEX_SECRET);
    } catch (error) {
      if (!(error instanceof MissingSecretError)) throw error;
      if (!(await this.mayCreate())) {
        throw new ConfigError(`Secret "${BLIND_INDEX_SECRET}" is missing, but stored records are indexed with it: restore it from backup (a new key would find nothing).`);
      }
      return this.secrets.getOrCreate(BLIND_INDEX_SECRET, () => randomBytes(32).toString('base64'));
    }
  }
}
