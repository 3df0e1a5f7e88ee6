/**
 * The key encryption key (KEK): wraps and unwraps data keys, never sees field data. Production
 * holds it in Cloud KMS (the key material never leaves KMS); local mode in a versioned key file.
 */
export interface WrappedKey {
  /** The wrapped data key, base64. */
  wrapped: string;
  /** The KEK version that wrapped it: a KMS CryptoKeyVersion name, or `local:<n>`. */
  kekVersion: string;
}

export interface KeyEncryptionKey {
  readonly kind: 'local' | 'cloud-kms';
  /** Wraps a data key under the current (primary) KEK version; `aad` must be given again to unwrap. */
  wrap(dek: Buffer, aad: Buffer): Promise<WrappedKey>;
  /** `current` is false when an older KEK version wrapped it, i.e. it should be re-wrapped. */
  unwrap(key: WrappedKey, aad: Buffer): Promise<{ dek: Buffer; current: boolean }>;
}
