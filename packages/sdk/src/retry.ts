/** Retry policy: which answers are worth another attempt and how long to wait before it. */
export const RETRY_STATUS = new Set([429, 502, 503, 504]);
/** Codes meaning "nothing is listening / no such host": retrying only delays the explanation. */
export const PERMANENT_NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_INVALID_URL']);

export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  baseDelayMs: number;
  /** No single wait is longer; a Retry-After beyond it ends the retries (the caller decides). */
  maxDelayMs: number;
  /** 0..1, for jitter; injectable for tests. */
  random: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 300, maxDelayMs: 10_000, random: Math.random };

/**
 * The wait before attempt `attempt + 1`, or null to stop. Retry-After (seconds) is honoured as
 * given; otherwise exponential backoff with "equal jitter" (half fixed, half random).
 */
export function retryDelay(attempt: number, retryAfterSeconds: number | null, policy: RetryPolicy): number | null {
  if (attempt >= policy.retries) return null;
  if (retryAfterSeconds !== null) {
    const ms = retryAfterSeconds * 1000;
    return ms <= policy.maxDelayMs ? ms : null;
  }
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(exp / 2 + (exp / 2) * policy.random());
}

/** `Retry-After` as seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null;
  const n = Number(value);
  if (Number.isFinite(n) && n >= 0) return n;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1000)) : null;
}
