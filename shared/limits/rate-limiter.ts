import type { Firestore } from '@google-cloud/firestore';
import { createHash } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { RateLimitedError } from '../platform/errors.js';
import { decide } from './fixed-window.js';

/** gRPC ABORTED: the transaction lost to concurrent ones on every attempt. */
const ABORTED = 10;

/**
 * Per-principal limits, counted in Firestore so every instance shares them. The read and the
 * increment of a window's counter are one transaction, so N + k parallel requests against a
 * limit of N let exactly N through (tests/integration/limits.rate-limit.test.ts). Counter
 * documents carry `expires_at` for a TTL policy to clean them up.
 */
export class RateLimiter {
  constructor(private readonly db: Firestore, private readonly clock: Clock) {}

  async take(principal: string, bucket: string, limit: number, windowMs = 60_000): Promise<void> {
    const nowMs = this.clock.now().getTime();
    const windowStartMs = Math.floor(nowMs / windowMs) * windowMs;
    const key = createHash('sha256').update(`${principal}\n${bucket}`).digest('hex').slice(0, 32);
    const ref = this.db.collection('rate_limits').doc(`${key}_${windowStartMs}`);
    let decision;
    try {
      decision = await this.db.runTransaction(
        async (tx) => {
          const snap = await tx.get(ref);
          const count = snap.exists ? Number(snap.get('count') ?? 0) : 0;
          const d = decide(count, limit, windowMs, nowMs);
          if (d.allowed) tx.set(ref, { bucket, count: d.count, window_start: new Date(windowStartMs).toISOString(), expires_at: new Date(windowStartMs + 2 * windowMs) });
          return d;
        },
        { maxAttempts: 10 },
      );
    } catch (error) {
      // One principal's burst so heavy that its counter stays contended: refuse (fail closed), never 500.
      if ((error as { code?: unknown }).code === ABORTED) throw new RateLimitedError(1);
      throw error;
    }
    if (!decision.allowed) throw new RateLimitedError(decision.retryAfterSeconds);
  }
}
