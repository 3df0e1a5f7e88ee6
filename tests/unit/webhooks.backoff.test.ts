import { RETRY_POLICY, hasAttemptsLeft, parseRetryAfter, retryDelayMs, verdictOf } from '../../shared/webhooks/backoff.js';

const H = 3600_000;

describe('webhook retry schedule', () => {
  const schedule = (random: () => number) => Array.from({ length: RETRY_POLICY.maxAttempts - 1 }, (_, i) => retryDelayMs(i + 1, random));

  it('grows exponentially and spreads the attempts over about a day', () => {
    const nominal = schedule(() => 0.5);
    expect(nominal.slice(0, 4)).toEqual([60_000, 180_000, 540_000, 1_620_000]);
    for (let i = 1; i < nominal.length; i++) expect(nominal[i]!).toBeGreaterThanOrEqual(nominal[i - 1]!);
    expect(Math.max(...nominal)).toBe(6 * H);
    const total = nominal.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(22 * H);
    expect(total).toBeLessThan(26 * H);
  });

  it('jitters each delay by at most 20 % either way', () => {
    const low = schedule(() => 0);
    const high = schedule(() => 0.999999);
    const nominal = schedule(() => 0.5);
    nominal.forEach((n, i) => {
      expect(low[i]!).toBeCloseTo(n * 0.8, -1);
      expect(high[i]!).toBeLessThanOrEqual(Math.round(n * 1.2));
      expect(high[i]!).toBeGreaterThan(n);
    });
  });

  it('stops after the last attempt', () => {
    expect(hasAttemptsLeft(RETRY_POLICY.maxAttempts - 1)).toBe(true);
    expect(hasAttemptsLeft(RETRY_POLICY.maxAttempts)).toBe(false);
  });

  it('honours a longer Retry-After, caps it at a day, and ignores a shorter one', () => {
    expect(retryDelayMs(1, () => 0.5, 2 * H)).toBe(2 * H);
    expect(retryDelayMs(1, () => 0.5, 30 * 24 * H)).toBe(24 * H);
    expect(retryDelayMs(5, () => 0.5, 1000)).toBe(81 * 60_000);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 01:00:00 GMT', now)).toBe(H);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it('treats 2xx as success, 410 as gone and anything else (redirects included) as retry', () => {
    expect(verdictOf(200)).toBe('succeeded');
    expect(verdictOf(204)).toBe('succeeded');
    expect(verdictOf(410)).toBe('gone');
    for (const s of [301, 302, 400, 404, 429, 500, 503, null]) expect(verdictOf(s)).toBe('retry');
  });
});
