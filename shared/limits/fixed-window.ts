/** Pure fixed-window rate-limit decision: which window `now` is in and whether one more is allowed. */
export interface WindowDecision {
  allowed: boolean;
  windowStartMs: number;
  count: number;
  retryAfterSeconds: number;
}

export function decide(countSoFar: number, limit: number, windowMs: number, nowMs: number): WindowDecision {
  const windowStartMs = Math.floor(nowMs / windowMs) * windowMs;
  const allowed = countSoFar < limit;
  return {
    allowed,
    windowStartMs,
    count: allowed ? countSoFar + 1 : countSoFar,
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((windowStartMs + windowMs - nowMs) / 1000)),
  };
}
