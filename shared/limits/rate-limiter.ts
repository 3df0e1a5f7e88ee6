import type { Firestore } from '@google-cloud/firestore';
import { createHash } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { RateLimitedError } from '../platform/errors.js';
import { decide } from './fixed-window.js';

/**
 * Per-principal limits on expensive routes, counted in Firestore so every instance shares them.
 * Counter documents carry `expires_at` for a TTL policy to clean them up.
 */
export class RateLimiter {
  constructor(private readonly db: Firestore, private readonly clock: Clock) {}

  async take(principal: string, bucket: string, limit: number, windowMs = 60_000): Promise<void> {
    const nowMs = this.clock.now().getTime();
    const windowStartMs = Math.floor(nowMs / windowMs) * windowMs;
    const key = createHash('sha256').update(`${principal}\n${bucket}`).digest('hex').slice(0, 32);
    const ref = this.db.collection('rate_limits').doc(`${key}_${windowStartMs}`);
    const decision = await this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const count = snap.exists ? Number(snap.get('count') ?? 0) : 0;
      const d = decide(count, limit, windowMs, nowMs);
      if (d.allowed) tx.set(ref, { bucket, count: d.count, window_start: new Date(windowStartMs).toISOString(), expires_at: new Date(windowStartMs + 2 * windowMs) });
      return d;
    });
    if (!decision.allowed) throw new RateLimitedError(decision.retryAfterSeconds);
  }
}
