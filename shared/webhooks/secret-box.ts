import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretStore } from '../secrets/port.js';

/**
 * Webhook secrets at rest: AES-256-GCM under a platform key kept in the secret store (Secret
 * Manager in production, provisioned by Terraform; a local file created on first use in local
 * mode). The AAD binds each ciphertext to its subscription and secret id, so a ciphertext copied
 * to another subscription does not decrypt. Plaintext secrets exist only in memory, in the
 * create/rotate response and in the signatures.
 */
export const WEBHOOK_KEY_SECRET = 'webhook-secrets-key';

export class SecretBox {
  private key: Promise<Buffer> | null = null;

  constructor(private readonly secrets: SecretStore) {}

  private getKey(): Promise<Buffer> {
    this.key ??= this.secrets
      .getOrCreate(WEBHOOK_KEY_SECRET, () => randomBytes(32).toString('base64'))
      .then((v) => {
        const key = Buffer.from(v.trim(), 'base64');
        if (key.length !== 32) throw new Error(`secret ${WEBHOOK_KEY_SECRET} must be 32 bytes, base64`);
        return key;
      })
      .catch((error: unknown) => {
        this.key = null;
        throw error;
      });
    return this.key;
  }

  async seal(plaintext: string, binding: string): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', await this.getKey(), iv);
    cipher.setAAD(Buffer.from(`tsi-webhook-secret\u0000${binding}`));
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `v1.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  async open(envelope: string, binding: string): Promise<string> {
    const [version, iv, sealed] = envelope.split('.');
    if (version !== 'v1' || !iv || !sealed) throw new Error('malformed sealed webhook secret');
    const bytes = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', await this.getKey(), Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(`tsi-webhook-secret\u0000${binding}`));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
  }
}
