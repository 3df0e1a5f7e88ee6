import { ConfigError } from '../../platform/errors.js';
import { crc32c } from '../crc32c.js';
import { KeyUnwrapError } from '../errors.js';
import type { KeyEncryptionKey, WrappedKey } from './port.js';

/**
 * Production KEK: a symmetric Cloud KMS CryptoKey (`ENCRYPT_DECRYPT`, software or HSM, automatic
 * rotation). Data keys are wrapped with KMS Encrypt under the key's primary version; KMS records the
 * version inside its ciphertext and picks it on Decrypt, so rotation never breaks old keys.
 * Every call carries CRC32C checksums both ways (Google's data-integrity guidelines).
 */

type Int64 = { value?: number | string | { toString(): string } | null } | null | undefined;

/** The slice of KeyManagementServiceClient this adapter uses (tests point it at a stand-in). */
export interface KmsClient {
  encrypt(request: {
    name: string;
    plaintext: Buffer;
    additionalAuthenticatedData: Buffer;
    plaintextCrc32c: { value: number };
    additionalAuthenticatedDataCrc32c: { value: number };
  }): Promise<[{ name?: string | null; ciphertext?: Uint8Array | string | null; ciphertextCrc32c?: Int64; verifiedPlaintextCrc32c?: boolean | null; verifiedAdditionalAuthenticatedDataCrc32c?: boolean | null }, ...unknown[]]>;
  decrypt(request: {
    name: string;
    ciphertext: Buffer;
    additionalAuthenticatedData: Buffer;
    ciphertextCrc32c: { value: number };
    additionalAuthenticatedDataCrc32c: { value: number };
  }): Promise<[{ plaintext?: Uint8Array | string | null; plaintextCrc32c?: Int64; usedPrimary?: boolean | null }, ...unknown[]]>;
}

export interface CloudKmsKekOptions {
  /** `projects/P/locations/L/keyRings/R/cryptoKeys/K` */
  keyName: string;
  client?: KmsClient | (() => Promise<KmsClient>);
}

const KEY_NAME = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_NOT_FOUND = 5;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_FAILED_PRECONDITION = 9;

export class CloudKmsKek implements KeyEncryptionKey {
  readonly kind = 'cloud-kms' as const;
  private client: Promise<KmsClient> | null = null;

  constructor(private readonly options: CloudKmsKekOptions) {
    if (!KEY_NAME.test(options.keyName)) throw new ConfigError(`Not a Cloud KMS CryptoKey name: "${options.keyName}".`);
  }

  private getClient(): Promise<KmsClient> {
    this.client ??= (async () => {
      const given = this.options.client;
      if (typeof given === 'function') return given();
      if (given) return given;
      const { KeyManagementServiceClient } = await import('@google-cloud/kms');
      return new KeyManagementServiceClient() as unknown as KmsClient;
    })().catch((error) => {
      this.client = null;
      throw error;
    });
    return this.client;
  }

  async wrap(dek: Buffer, aad: Buffer): Promise<WrappedKey> {
    const client = await this.getClient();
    const [res] = await client
      .encrypt({
        name: this.options.keyName,
        plaintext: dek,
        additionalAuthenticatedData: aad,
        plaintextCrc32c: { value: crc32c(dek) },
        additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
      })
      .catch((error: unknown) => {
        throw this.explain(error, 'encrypt');
      });
    if (!res.verifiedPlaintextCrc32c || !res.verifiedAdditionalAuthenticatedDataCrc32c) {
      throw new Error('Cloud KMS Encrypt: the request was corrupted in transit (checksum not verified)');
    }
    const ciphertext = bytes(res.ciphertext);
    if (!ciphertext.length || crc32c(ciphertext) !== int64(res.ciphertextCrc32c)) {
      throw new Error('Cloud KMS Encrypt: the response was corrupted in transit (ciphertext checksum mismatch)');
    }
    const version = res.name ?? '';
    if (!version.startsWith(`${this.options.keyName}/cryptoKeyVersions/`)) {
      throw new Error('Cloud KMS Encrypt: answered for a different key than asked');
    }
    return { wrapped: ciphertext.toString('base64'), kekVersion: version };
  }

  async unwrap(key: WrappedKey, aad: Buffer): Promise<{ dek: Buffer; current: boolean }> {
    const client = await this.getClient();
    const ciphertext = Buffer.from(key.wrapped, 'base64');
    const [res] = await client
      .decrypt({
        // The CryptoKey, not the version: KMS finds the version from the ciphertext.
        name: this.options.keyName,
        ciphertext,
        additionalAuthenticatedData: aad,
        ciphertextCrc32c: { value: crc32c(ciphertext) },
        additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
      })
      .catch((error: unknown) => {
        throw this.explain(error, 'decrypt');
      });
    const dek = bytes(res.plaintext);
    if (crc32c(dek) !== int64(res.plaintextCrc32c)) {
      throw new Error('Cloud KMS Decrypt: the response was corrupted in transit (plaintext checksum mismatch)');
    }
    return { dek, current: res.usedPrimary === true };
  }

  private explain(error: unknown, op: 'encrypt' | 'decrypt'): Error {
    const code = (error as { code?: unknown }).code;
    const key = this.options.keyName;
    if (code === GRPC_PERMISSION_DENIED) {
      return new ConfigError(`The service account may not ${op} with ${key}: grant it roles/cloudkms.cryptoKeyEncrypterDecrypter on that key.`);
    }
    if (code === GRPC_NOT_FOUND) return new ConfigError(`Cloud KMS key ${key} does not exist (it is provisioned by Terraform).`);
    if (op === 'decrypt' && (code === GRPC_INVALID_ARGUMENT || code === GRPC_FAILED_PRECONDITION)) {
      // Wrong AAD, altered ciphertext, or a destroyed/disabled key version.
      return new KeyUnwrapError(`Cloud KMS refused to unwrap the data key (code ${String(code)})`);
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

function bytes(v: Uint8Array | string | null | undefined): Buffer {
  if (v === null || v === undefined) return Buffer.alloc(0);
  return typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.from(v);
}

function int64(v: Int64): number {
  const raw = v?.value;
  return raw === null || raw === undefined ? NaN : Number(String(raw));
}
