import type { Firestore } from '@google-cloud/firestore';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Clock } from '../platform/clock.js';
import { ConfigError } from '../platform/errors.js';
import { LocalSecretStore } from '../secrets/local.js';
import { MissingSecretError, type SecretStore } from '../secrets/port.js';
import { BLIND_INDEX_SECRET } from './blind-index.js';
import { LocalKek } from './kek/local.js';
import type { KeyEncryptionKey } from './kek/port.js';
import { SUBJECT_KEYS_COLLECTION } from './subject-keys.js';
import { WEBHOOK_KEY_SECRET } from '../webhooks/secret-box.js';

/**
 * Custody of the keys that stored data depends on (docs/decisions/0037): the KEK (local key file
 * or Cloud KMS), the blind-index key and the webhook-secrets key. Keys are generated only for a
 * data folder that holds nothing depending on them; a key that existing data depends on and that
 * is missing, damaged or not the one the data was made with stops the start, naming the file and
 * what to restore, instead of being regenerated (which would make every read fail, or erasure find
 * nothing).
 *
 * "Depends on" is decided from the data itself, per key:
 * - KEK: any `subject_keys` document (data keys wrapped by it) or its probe;
 * - blind-index key: any subject key, investigation, erasure request or legal hold (all carry
 *   blind indexes), or its check value;
 * - webhook-secrets key: any webhook subscription (their secrets are sealed with it).
 * So "empty" for a key means: no Firestore document that needs it, and no key file. The probes
 * live in `key_checks/`: `kek` holds a random value wrapped by the KEK (AAD-bound) and its
 * sha256; `blind-index` holds HMAC(key, fixed label). Neither reveals anything about a key.
 */
export const KEY_CHECKS_COLLECTION = 'key_checks';
const KEK_PROBE_AAD = Buffer.from('tsi-kek-probe/v1', 'utf8');
const BLIND_CHECK_LABEL = 'tsi-blind-index-check/v1';

export class KeyMaterialError extends ConfigError {
  override name = 'KeyMaterialError';
}

export interface KeyCheck {
  name: 'kek' | 'blind-index' | 'webhook-secrets';
  state: 'ok' | 'created' | 'unused' | 'missing' | 'damaged' | 'mismatch';
}

export interface KeyCustodyDeps {
  db: Firestore;
  kek: KeyEncryptionKey;
  secrets: SecretStore;
  clock: Clock;
  /** The data folder, for messages (local mode). */
  dataDir?: string;
}

async function any(db: Firestore, collections: readonly string[]): Promise<string | null> {
  for (const c of collections) if (!(await db.collection(c).limit(1).get()).empty) return c;
  return null;
}

export class KeyCustody {
  constructor(private readonly deps: KeyCustodyDeps) {}

  /** Where the KEK is, for a person restoring it. */
  kekLocation(): string {
    return this.deps.kek instanceof LocalKek ? this.deps.kek.path : 'the Cloud KMS key named by TSI_KMS_KEY';
  }

  secretLocation(name: string): string {
    return this.deps.secrets instanceof LocalSecretStore ? join(this.deps.secrets.dir, name) : `Secret Manager secret "${name}"`;
  }

  private where(): string {
    return this.deps.dataDir ? `this data folder (${this.deps.dataDir})` : 'this database';
  }

  /** Whether a missing key may be made now: nothing stored depends on it. */
  async kekMayBeCreated(): Promise<boolean> {
    return (await any(this.deps.db, [SUBJECT_KEYS_COLLECTION])) === null && !(await this.deps.db.collection(KEY_CHECKS_COLLECTION).doc('kek').get()).exists;
  }

  async blindIndexMayBeCreated(): Promise<boolean> {
    return (await any(this.deps.db, [SUBJECT_KEYS_COLLECTION, 'investigations', 'erasure_requests', 'legal_holds'])) === null && !(await this.deps.db.collection(KEY_CHECKS_COLLECTION).doc('blind-index').get()).exists;
  }

  /**
   * Start-up: verifies every key against the data, creates the ones nothing depends on yet (and
   * their probes). Throws KeyMaterialError naming the file and what to restore.
   */
  async ensure(): Promise<KeyCheck[]> {
    return [await this.checkKek(true), await this.checkBlindIndex(true), await this.checkWebhookKey()];
  }

  /** Readiness: the same checks, creating nothing; a short reason when one fails. */
  async verify(): Promise<KeyCheck[]> {
    return [await this.checkKek(false), await this.checkBlindIndex(false), await this.checkWebhookKey()];
  }

  private async checkKek(create: boolean): Promise<KeyCheck> {
    const kek = this.deps.kek;
    const probeRef = this.deps.db.collection(KEY_CHECKS_COLLECTION).doc('kek');
    if (kek instanceof LocalKek && !(await kek.exists().catch((e: unknown) => Promise.reject(this.kekRefusal(e))))) {
      const needed = await any(this.deps.db, [SUBJECT_KEYS_COLLECTION]);
      if (needed || (await probeRef.get()).exists) {
        throw new KeyMaterialError(
          `Refusing to start: the key file ${kek.path} is missing, but ${this.where()} holds data encrypted under it. ` +
            `Restore ${kek.path} from the backup of this data folder; a new key cannot open existing data, so none is generated (keys are generated only for an empty data folder).`,
        );
      }
      if (!create) return { name: 'kek', state: 'unused' };
    }
    const probe = await probeRef.get();
    if (probe.exists) {
      const data = probe.data() as { wrapped: string; kek_version: string; digest: string };
      let dek: Buffer;
      try {
        ({ dek } = await kek.unwrap({ wrapped: data.wrapped, kekVersion: data.kek_version }, KEK_PROBE_AAD));
      } catch (error) {
        throw this.kekRefusal(error);
      }
      if (createHash('sha256').update(dek).digest('hex') !== data.digest) throw this.kekRefusal(null);
      return { name: 'kek', state: 'ok' };
    }
    // No probe yet (a new folder, or data from before probes): a live data key is the probe.
    const live = await this.deps.db.collection(SUBJECT_KEYS_COLLECTION).where('state', '==', 'active').limit(1).get();
    const doc = live.docs[0]?.data() as { key_id: string; generation: number; wrapped_dek: string; kek_version: string } | undefined;
    if (doc) {
      try {
        await kek.unwrap({ wrapped: doc.wrapped_dek, kekVersion: doc.kek_version }, Buffer.from(`tsi-subject-dek\u0000${doc.key_id}\u0000${Number(doc.generation)}`, 'utf8'));
      } catch (error) {
        throw this.kekRefusal(error);
      }
    }
    if (!create) return { name: 'kek', state: doc ? 'ok' : 'unused' };
    const value = randomBytes(32);
    const wrapped = await kek.wrap(value, KEK_PROBE_AAD); // creates the local key file on an empty folder
    await probeRef.create({ wrapped: wrapped.wrapped, kek_version: wrapped.kekVersion, digest: createHash('sha256').update(value).digest('hex'), created_at: this.deps.clock.now().toISOString() }).catch((e: { code?: number }) => {
      if (e.code !== 6) throw e; // ALREADY_EXISTS: another instance wrote it first
    });
    return { name: 'kek', state: doc ? 'ok' : 'created' };
  }

  private kekRefusal(error: unknown): KeyMaterialError {
    const location = this.kekLocation();
    if (error instanceof ConfigError && /damaged/.test(error.message)) {
      return new KeyMaterialError(`Refusing to start: the key file ${location} is damaged. Restore it from the backup of this data folder; every encrypted field depends on it.`);
    }
    return new KeyMaterialError(
      `Refusing to start: ${location} does not open the data keys of ${this.where()} (it is not the key the data was encrypted with, or it was altered). Restore the original ${location} from backup.`,
    );
  }

  private async checkBlindIndex(create: boolean): Promise<KeyCheck> {
    const location = this.secretLocation(BLIND_INDEX_SECRET);
    const checkRef = this.deps.db.collection(KEY_CHECKS_COLLECTION).doc('blind-index');
    let text: string | null = null;
    try {
      text = await this.deps.secrets.get(BLIND_INDEX_SECRET);
    } catch (error) {
      if (!(error instanceof MissingSecretError)) throw error;
    }
    if (text === null) {
      if (!(await this.blindIndexMayBeCreated())) {
        throw new KeyMaterialError(
          `Refusing to start: the blind-index key ${location} is missing, but ${this.where()} holds records indexed with it. ` +
            `Restore ${location} from the backup of this data folder; with a new key, lookups and erasure would find nothing, so none is generated.`,
        );
      }
      if (!create) return { name: 'blind-index', state: 'unused' };
      text = await this.deps.secrets.getOrCreate(BLIND_INDEX_SECRET, () => randomBytes(32).toString('base64'));
    }
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length < 32 || key.toString('base64').replace(/=+$/, '') !== text.trim().replace(/=+$/, '')) {
      throw new KeyMaterialError(`Refusing to start: the blind-index key ${location} is damaged (it must hold at least 32 random bytes, base64). Restore it from the backup of this data folder.`);
    }
    const check = createHmac('sha256', key).update(BLIND_CHECK_LABEL).digest('base64url');
    const stored = await checkRef.get();
    if (stored.exists) {
      if (stored.get('check') !== check) {
        throw new KeyMaterialError(`Refusing to start: the blind-index key ${location} is not the key ${this.where()} was indexed with. Restore the original from the backup of this data folder.`);
      }
      return { name: 'blind-index', state: 'ok' };
    }
    if (create) {
      await checkRef.create({ check, created_at: this.deps.clock.now().toISOString() }).catch((e: { code?: number }) => {
        if (e.code !== 6) throw e;
      });
    }
    return { name: 'blind-index', state: 'ok' };
  }

  private async checkWebhookKey(): Promise<KeyCheck> {
    const location = this.secretLocation(WEBHOOK_KEY_SECRET);
    if ((await any(this.deps.db, ['webhook_subscriptions'])) === null) return { name: 'webhook-secrets', state: 'unused' };
    let text: string;
    try {
      text = await this.deps.secrets.get(WEBHOOK_KEY_SECRET);
    } catch (error) {
      if (!(error instanceof MissingSecretError)) throw error;
      throw new KeyMaterialError(`Refusing to start: the webhook-secrets key ${location} is missing, but ${this.where()} holds webhook subscriptions whose secrets are sealed with it. Restore it from the backup of this data folder.`);
    }
    if (Buffer.from(text.trim(), 'base64').length !== 32) {
      throw new KeyMaterialError(`Refusing to start: the webhook-secrets key ${location} is damaged (it must hold 32 bytes, base64). Restore it from the backup of this data folder.`);
    }
    return { name: 'webhook-secrets', state: 'ok' };
  }
}
