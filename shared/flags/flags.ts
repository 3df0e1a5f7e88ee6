import type { Firestore } from '@google-cloud/firestore';
import { systemClock, type Clock } from '../platform/clock.js';
import { NotFoundError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { rootLogger } from '../platform/logger.js';
import { TtlCache } from '../platform/ttl-cache.js';
import { FEATURE_FLAGS_COLLECTION, FLAG_DEFINITIONS, StoredFlagSchema, isFlagName, resolveFlags, type FlagName, type FlagState, type StoredFlag } from './model.js';
import { checkPrecondition, type Precondition } from '../platform/precondition.js';

export interface FeatureFlagsOptions {
  clock?: Clock;
  logger?: Logger;
  /** How long a read is reused before Firestore is asked again (default 30 s). */
  ttlMs?: number;
  /** How long past the TTL the last read is served while Firestore is failing (default 10 min). */
  maxStaleMs?: number;
}

export interface FlagChange {
  before: FlagState;
  after: FlagState;
}

/**
 * Flags read through a short cache: a hot path calling `isEnabled` hits Firestore at most once
 * per TTL per instance (the whole collection is one small read). A change made through this
 * instance is visible to it at once; other instances see it within the TTL.
 */
export class FeatureFlags {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly cache: TtlCache<Map<string, StoredFlag>>;

  constructor(
    private readonly db: Firestore,
    options: FeatureFlagsOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? rootLogger.child({ component: 'flags' });
    this.cache = new TtlCache({
      clock: this.clock,
      ttlMs: options.ttlMs ?? 30_000,
      maxStaleMs: options.maxStaleMs ?? 600_000,
      onStale: (_key, error, ageMs) => this.logger.warn('feature flags could not be refreshed; serving the last read', { age_ms: ageMs, error: String(error) }),
    });
  }

  /** Whether a declared flag is on: its stored value, else its default from code. */
  async isEnabled(name: FlagName): Promise<boolean> {
    const stored = await this.cache.get('all', () => this.readAll());
    const s = stored.get(name);
    return s ? s.enabled : FLAG_DEFINITIONS[name].default;
  }

  /** Every declared flag, read fresh (admins looking at flags should not see a cached value). */
  async list(): Promise<FlagState[]> {
    this.cache.invalidate();
    return resolveFlags(await this.cache.get('all', () => this.readAll()));
  }

  /** Sets a flag (404 for an undeclared name) and returns its state before and after. */
  async set(name: string, input: { enabled: boolean; reason: string }, actor: string, expect?: Precondition | null): Promise<FlagChange> {
    if (!isFlagName(name)) throw new NotFoundError(`Flag "${name.slice(0, 64)}"`);
    const ref = this.db.collection(FEATURE_FLAGS_COLLECTION).doc(name);
    const stored: StoredFlag = { enabled: input.enabled, reason: input.reason, updated_by: actor, updated_at: this.clock.now().toISOString() };
    const previous = await this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const before = snap.exists ? this.parse(name, snap.data()) : null;
      // If-Match on the version this transaction read (a never-set flag's version has no time).
      checkPrecondition(expect, { id: name, updated_at: before?.updated_at ?? '' });
      tx.set(ref, stored);
      return before;
    });
    this.cache.invalidate();
    const state = (s: StoredFlag | null) => resolveFlags(new Map(s ? [[name, s]] : [])).find((f) => f.name === name)!;
    return { before: state(previous), after: state(stored) };
  }

  private async readAll(): Promise<Map<string, StoredFlag>> {
    const snap = await this.db.collection(FEATURE_FLAGS_COLLECTION).get();
    const out = new Map<string, StoredFlag>();
    for (const doc of snap.docs) {
      if (!isFlagName(doc.id)) continue;
      try {
        out.set(doc.id, this.parse(doc.id, doc.data()));
      } catch (error) {
        // A damaged document falls back to the code default, loudly.
        this.logger.error('stored feature flag is invalid; using its default', error, { flag: doc.id });
      }
    }
    return out;
  }

  private parse(name: string, data: unknown): StoredFlag {
    const parsed = StoredFlagSchema.safeParse(data);
    if (!parsed.success) throw new Error(`Stored flag "${FEATURE_FLAGS_COLLECTION}/${name}" is invalid: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
    return parsed.data;
  }
}
