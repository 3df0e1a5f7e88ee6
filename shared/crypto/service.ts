import type { Firestore, Transaction } from '@google-cloud/firestore';
import type { Clock } from '../platform/clock.js';
import type { BlindIndexer } from './blind-index.js';
import { KeyMaterialError, type KeyCheck, type KeyCustody } from './key-custody.js';
import { envelopeKey, parseEnvelope, sealField, openField, type FieldBinding } from './envelope.js';
import { SubjectErasedError, SubjectKeyChangedError } from './errors.js';
import type { SubjectRef } from './normalise.js';
import type { DestroyResult, RewrapOptions, RewrapReport, SubjectKeyring, SubjectKeyStatus } from './subject-keys.js';

/**
 * The data-protection facade the rest of the platform uses: field encryption under per-subject
 * keys, blind indexes, crypto-shredding and KEK rotation. Holds no state of its own.
 */

/** A data subject, by value (it is blind-indexed here) or by an already computed blind index. */
export type SubjectKeyRef = SubjectRef | { keyId: string };

export interface EncryptFieldInput extends FieldBinding {
  subjectRef: SubjectKeyRef;
  plaintext: string;
}

export interface DecryptFieldInput extends FieldBinding {
  envelope: string;
}

export type RevealResult = { ok: true; value: string } | { ok: false; erased: true };

/** What a write seals outside its transaction: the value to write and the envelopes it made. */
export interface SealedValue<S> {
  value: S;
  /** Envelopes sealed for this write (not ones copied from stored data). */
  fresh: readonly string[];
}

const HEALTHY_FOR_MS = 60_000;

/** How often a write is sealed again after its key changed under it (an erasure racing it). */
const SEAL_ATTEMPTS = 3;

export class DataProtection {
  private healthy: { until: number } | null = null;

  constructor(
    private readonly deps: { keyring: SubjectKeyring; indexer: BlindIndexer; custody?: KeyCustody; clock?: Clock },
  ) {}

  /**
   * Start-up: every key stored data depends on is present and opens that data; keys nothing
   * depends on yet are generated. Throws KeyMaterialError naming the file and what to restore.
   */
  async ensureKeys(): Promise<KeyCheck[]> {
    if (!this.deps.custody) return [];
    return this.deps.custody.ensure();
  }

  /** Readiness: the KEK opens its probe, the blind-index key matches its check (a success is reused for 60 s). */
  async checkKeys(): Promise<void> {
    const now = (this.deps.clock?.now() ?? new Date()).getTime();
    if (!this.deps.custody || (this.healthy && this.healthy.until > now)) return;
    try {
      await this.deps.custody.verify();
    } catch (error) {
      // Readiness output is unauthenticated: the reason, not the file paths.
      throw new Error(error instanceof KeyMaterialError ? 'key material missing, damaged or not the one the data was encrypted with (see the start-up log)' : 'key check failed');
    }
    this.healthy = { until: now + HEALTHY_FOR_MS };
  }

  /** Keyed blind index of the normalised subject: the lookup key, and the subject's key id. */
  blindIndex(subject: SubjectRef): Promise<string> {
    return this.deps.indexer.index(subject);
  }

  async keyIdOf(ref: SubjectKeyRef): Promise<string> {
    return 'keyId' in ref ? ref.keyId : this.blindIndex(ref);
  }

  /** AES-256-GCM under the subject's live data key, bound to `docPath` and `field`; returns the envelope. */
  async encryptField(input: EncryptFieldInput): Promise<string> {
    const keyId = await this.keyIdOf(input.subjectRef);
    const { generation, dek } = await this.deps.keyring.activeKey(keyId);
    return sealField(dek, { keyId, generation, binding: { docPath: input.docPath, field: input.field }, plaintext: input.plaintext });
  }

  /**
   * Opens an envelope made by `encryptField` for the same document path and field.
   * Throws SubjectErasedError (key destroyed), FieldBindingError (moved), CiphertextTamperedError,
   * MalformedEnvelopeError, or KeyUnwrapError.
   */
  async decryptField(input: DecryptFieldInput): Promise<string> {
    const envelope = parseEnvelope(input.envelope);
    const dek = await this.deps.keyring.keyFor(envelope.keyId, envelope.generation);
    return openField(dek, envelope, { docPath: input.docPath, field: input.field });
  }

  /** decryptField for presenters: an erased subject is an expected outcome, not an error. */
  async reveal(input: DecryptFieldInput): Promise<RevealResult> {
    try {
      return { ok: true, value: await this.decryptField(input) };
    } catch (error) {
      if (error instanceof SubjectErasedError) return { ok: false, erased: true };
      throw error;
    }
  }

  /**
   * Inside a write transaction, before any write: every envelope sealed for this write is under
   * its subject's live key generation. Throws SubjectKeyChangedError otherwise.
   */
  assertKeysLive(tx: Transaction, envelopes: readonly string[]): Promise<void> {
    return this.deps.keyring.assertLive(tx, envelopes.map(envelopeKey));
  }

  /**
   * The one way to write freshly sealed data: `seal` runs outside the transaction (it may call
   * KMS and create a subject key), the transaction checks the keys it used are still live, then
   * runs `write`. When another instance destroyed the key meanwhile, the data is sealed again
   * (a fresh generation) and the write retried; nothing is ever stored under a destroyed key.
   */
  async sealedTransaction<S, R>(db: Firestore, seal: () => Promise<SealedValue<S>>, write: (tx: Transaction, value: S) => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      const sealed = await seal();
      try {
        return await db.runTransaction(async (tx) => {
          await this.assertKeysLive(tx, sealed.fresh);
          return write(tx, sealed.value);
        });
      } catch (error) {
        if (!(error instanceof SubjectKeyChangedError) || attempt >= SEAL_ATTEMPTS) throw error;
      }
    }
  }

  /** Crypto-shredding of one subject: every field encrypted for it becomes unreadable, everywhere. */
  async destroySubjectKey(subject: SubjectKeyRef): Promise<DestroyResult> {
    return this.deps.keyring.destroy(await this.keyIdOf(subject));
  }

  async subjectKeyStatus(subject: SubjectKeyRef): Promise<SubjectKeyStatus | null> {
    return this.deps.keyring.status(await this.keyIdOf(subject));
  }

  /** After rotating the KEK: re-wrap data keys under its current version (resumable). */
  rewrapAll(options?: RewrapOptions): Promise<RewrapReport> {
    return this.deps.keyring.rewrapAll(options);
  }
}
