import { AppError } from '../platform/errors.js';

/**
 * Failures of field encryption. All are AppErrors so that one escaping to a caller becomes a
 * generic problem+json without internals; none carries plaintext, key material or a subject value.
 */

/** The subject's data key was destroyed (crypto-shredding) or never existed here: the data is gone. */
export class SubjectErasedError extends AppError {
  constructor(
    readonly keyId: string,
    readonly reason: 'destroyed' | 'missing',
    readonly destroyedAt: string | null = null,
  ) {
    super('subject-erased', 410, 'Personal data erased', 'This personal data was erased and can no longer be read.');
  }
}

export type FieldDecryptionReason = 'malformed' | 'binding-mismatch' | 'tampered';

/** A field envelope could not be opened with the subject's key. */
export class FieldDecryptionError extends AppError {
  constructor(
    readonly reason: FieldDecryptionReason,
    message: string,
  ) {
    super('field-decryption-failed', 500, 'Stored data could not be decrypted', 'Stored data could not be decrypted.');
    this.message = message;
  }
}

/** The envelope is not a v1 field envelope at all. */
export class MalformedEnvelopeError extends FieldDecryptionError {
  constructor(why: string) {
    super('malformed', `Not a field envelope: ${why}`);
  }
}

/** The ciphertext was sealed for another document or field (copied or moved). */
export class FieldBindingError extends FieldDecryptionError {
  constructor() {
    super('binding-mismatch', 'The ciphertext belongs to another document or field.');
  }
}

/** Authentication failed for the right document and field: the ciphertext or its key was altered. */
export class CiphertextTamperedError extends FieldDecryptionError {
  constructor() {
    super('tampered', 'The ciphertext failed authentication (altered, or sealed under another key).');
  }
}

/** The key encryption key refused to unwrap a data key (wrong KEK, altered wrapped key, KMS error). */
export class KeyUnwrapError extends AppError {
  constructor(message: string) {
    super('key-unwrap-failed', 500, 'Stored data could not be decrypted', 'Stored data could not be decrypted.');
    this.message = message;
  }
}

/**
 * Data was sealed under a key generation that is no longer the live one (destroyed, or replaced
 * by a newer generation, by another instance) when the write came to commit. Nothing was
 * written; the caller seals again (sealedTransaction does) and gets the live key.
 */
export class SubjectKeyChangedError extends AppError {
  constructor(
    readonly keyId: string,
    readonly generation: number,
  ) {
    super('subject-key-changed', 409, 'Personal data key changed', 'The data key of this subject changed during the write; retry the request.');
  }
}
