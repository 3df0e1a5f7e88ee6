/**
 * Retry policy for webhook deliveries (pure). Exponential backoff with ±20 % jitter: 1 min, 3, 9,
 * 27, 81, 243 min, then 6 h three times — ten attempts over about 24 hours. A receiver's
 * `Retry-After` is honoured when it asks for longer than the schedule (up to a day).
 */
export const RETRY_POLICY = {
  maxAttempts: 10,
  baseMs: 60_000,
  factor: 3,
  capMs: 6 * 3600_000,
  jitter: 0.2,
  maxRetryAfterMs: 24 * 3600_000,
} as const;

/** Delay before the next attempt, after `failedAttempts` (≥ 1) failures. */
export function retryDelayMs(failedAttempts: number, random: () => number = Math.random, retryAfterMs: number | null = null): number {
  const n = Math.max(1, failedAttempts);
  const nominal = Math.min(RETRY_POLICY.capMs, RETRY_POLICY.baseMs * RETRY_POLICY.factor ** (n - 1));
  const jittered = Math.round(nominal * (1 - RETRY_POLICY.jitter + 2 * RETRY_POLICY.jitter * random()));
  return retryAfterMs === null ? jittered : Math.max(jittered, Math.min(retryAfterMs, RETRY_POLICY.maxRetryAfterMs));
}

/** Whether another attempt is allowed after `attempts` attempts. */
export function hasAttemptsLeft(attempts: number): boolean {
  return attempts < RETRY_POLICY.maxAttempts;
}

/** `Retry-After` as delay-seconds or an HTTP-date → milliseconds from `now`; null if absent/invalid. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

export type AttemptVerdict = 'succeeded' | 'gone' | 'retry';

/** 2xx succeeds; 410 Gone disables the endpoint; everything else (3xx included: redirects are not followed) is retried. */
export function verdictOf(status: number | null): AttemptVerdict {
  if (status !== null && status >= 200 && status < 300) return 'succeeded';
  if (status === 410) return 'gone';
  return 'retry';
}
