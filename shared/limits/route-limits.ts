import type { Config } from '../platform/config.js';
import { RateLimitedError } from '../platform/errors.js';
import type { RequestContext, Route } from '../platform/http.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * Per-principal rate limits as a declared property of each route (`Route.rateLimit`), enforced by
 * the HTTP kit in one place right after the caller is identified (docs/decisions/0043; the table
 * of limits is in docs/operations.md, "Rate limits").
 *
 * - `write`: every POST, PUT, PATCH and DELETE, unless it declares a stricter class.
 * - `expensive-read`: reads that scan or search (lists, the audit search, reports).
 * - `query`: runs a warehouse query on the caller's behalf (ad-hoc SQL).
 *
 * Each class is one budget per principal shared by all its routes, counted in Firestore so every
 * instance shares it. Reads of one resource are not limited.
 */
export const RATE_LIMIT_CLASSES = ['write', 'expensive-read', 'query'] as const;
export type RateLimitClass = (typeof RATE_LIMIT_CLASSES)[number];

export interface RateLimitSpec {
  limit: number;
  windowMs: number;
}
export type RateLimits = Readonly<Record<RateLimitClass, RateLimitSpec>>;

/** Pure: the class a route is limited under, or null. Unauthenticated routes have no principal to count. */
export function rateLimitClassOf(route: Pick<Route, 'method' | 'auth' | 'rateLimit'>): RateLimitClass | null {
  if (route.auth !== 'required') return null;
  if (route.rateLimit) return route.rateLimit;
  return route.method === 'GET' ? null : 'write';
}

/** The limits from validated config (defaults there): per minute, per principal and class. */
export function rateLimitsFrom(config: Pick<Config, 'limits'>): RateLimits {
  const perMinute = (limit: number): RateLimitSpec => ({ limit, windowMs: 60_000 });
  return {
    write: perMinute(config.limits.writePerMinute),
    'expensive-read': perMinute(config.limits.expensiveReadPerMinute),
    query: perMinute(config.limits.queryPerMinute),
  };
}

/**
 * The kit's hook (`HttpDeps.rateLimit`): takes one from the caller's budget for the route's
 * class; past it, 429 `rate-limited` with Retry-After, and the request's audit record says which limit.
 */
export function routeRateLimiter(limiter: Pick<RateLimiter, 'take'>, limits: RateLimits) {
  return async (route: Route, ctx: RequestContext): Promise<void> => {
    const cls = rateLimitClassOf(route);
    if (!cls || !ctx.caller) return;
    const { limit, windowMs } = limits[cls];
    try {
      await limiter.take(ctx.caller.email, `route:${cls}`, limit, windowMs);
    } catch (error) {
      if (error instanceof RateLimitedError) ctx.auditReason = `rate limit ${cls}: ${limit} per ${windowMs / 1000} s`;
      throw error;
    }
  };
}
