/**
 * The one error hierarchy of the platform. Every failure a caller can see is an AppError with a
 * stable `type` slug; `toProblem` (problem.ts) is the only place that turns errors into responses.
 */
export interface ProblemExtras {
  [key: string]: unknown;
}

export class AppError extends Error {
  constructor(
    /** Stable slug, becomes `https://tsi.dev/problems/<type>` in problem+json. */
    readonly type: string,
    readonly status: number,
    readonly title: string,
    /** Safe, caller-facing explanation. Never internal details or personal data. */
    readonly detail?: string,
    readonly extras: ProblemExtras = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(detail: string, readonly errors: { path: string; message: string }[] = []) {
    super('validation-failed', 400, 'Request is not valid', detail, errors.length ? { errors } : {});
  }
}

export class MalformedRequestError extends AppError {
  constructor(detail: string) {
    super('malformed-request', 400, 'Request could not be read', detail);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super('payload-too-large', 413, 'Request body is too large', `The body exceeds ${limitBytes} bytes.`, { limit_bytes: limitBytes });
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor() {
    super('unsupported-media-type', 415, 'Unsupported media type', 'Send the body as application/json.');
  }
}

/** A request body in a Content-Encoding we do not decode (we accept identity only: no inflation bombs). */
export class UnsupportedContentEncodingError extends AppError {
  constructor(encoding: string) {
    super('unsupported-content-encoding', 415, 'Unsupported content encoding', 'Send the body uncompressed (no Content-Encoding, or identity).', { content_encoding: encoding.slice(0, 40) }, { 'Accept-Encoding': 'identity' });
  }
}

/** A path that is not valid percent-encoded UTF-8, or a path parameter outside the one id schema. */
export class InvalidPathError extends AppError {
  constructor(detail: string, parameter?: string) {
    super('invalid-path', 400, 'Invalid path', detail, parameter ? { parameter } : {});
  }
}

export class UnauthenticatedError extends AppError {
  constructor(detail: string, type = 'unauthenticated') {
    super(type, 401, 'Authentication required', detail, {}, { 'WWW-Authenticate': 'Bearer' });
  }
}

export class ForbiddenError extends AppError {
  constructor(permission: string) {
    super('forbidden', 403, 'Permission denied', `Your roles do not grant "${permission}".`, { permission });
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super('not-found', 404, 'Not found', `${what} was not found.`);
  }
}

export class RouteNotFoundError extends AppError {
  constructor() {
    super('route-not-found', 404, 'No such route', 'No route matches this method and path.');
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(allowed: string[]) {
    super('method-not-allowed', 405, 'Method not allowed', `Allowed: ${allowed.join(', ')}.`, {}, { Allow: allowed.join(', ') });
  }
}

export class ConflictError extends AppError {
  constructor(type: string, detail: string, extras: ProblemExtras = {}) {
    super(type, 409, 'Conflict', detail, extras);
  }
}

export class InvalidTransitionError extends ConflictError {
  constructor(from: string, action: string) {
    super('invalid-transition', `An investigation in state "${from}" cannot be ${action}.`, { status_now: from, action });
  }
}

export class IdempotencyConflictError extends AppError {
  constructor() {
    super('idempotency-key-reused', 422, 'Idempotency key reused', 'This Idempotency-Key was already used with a different request body.');
  }
}

/** Another request with this Idempotency-Key is still running: retry after it (the retry replays its answer). */
export class IdempotencyInProgressError extends AppError {
  constructor(retryAfterSeconds: number) {
    super('idempotency-key-in-progress', 409, 'Request with this key in progress', 'A request with this Idempotency-Key is still being processed. Retry after it finishes to get its response.', { retry_after_seconds: retryAfterSeconds }, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}

export class PreconditionFailedError extends AppError {
  constructor(currentEtag: string | null) {
    super('precondition-failed', 412, 'Precondition failed', 'The resource changed since you read it (If-Match does not match its current ETag). Read it again and retry.', currentEtag ? { current_etag: currentEtag } : {});
  }
}

/** A feature switched off by its flag (shared/flags) for everyone, whatever their role. */
export class FeatureDisabledError extends AppError {
  constructor(flag: string) {
    super('feature-disabled', 403, 'Feature disabled', `This feature is switched off on this platform (feature flag "${flag}"). An admin can turn it on.`, { flag });
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super('rate-limited', 429, 'Too many requests', `Try again in ${retryAfterSeconds} s.`, { retry_after_seconds: retryAfterSeconds }, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}

export class UnavailableError extends AppError {
  constructor(detail: string, retryAfterSeconds = 5) {
    super('unavailable', 503, 'Service unavailable', detail, {}, { 'Retry-After': String(retryAfterSeconds) });
  }
}

/** The data store refused for load (contention, quota), not because of the request: retry shortly. */
export class StoreBusyError extends AppError {
  constructor(retryAfterSeconds = 1) {
    super('store-busy', 503, 'Service busy', 'The data store is busy with concurrent changes; retry shortly.', { retry_after_seconds: retryAfterSeconds }, { 'Retry-After': String(retryAfterSeconds) });
  }
}

/** gRPC status codes of a Firestore call that failed for load: RESOURCE_EXHAUSTED (8), ABORTED (10, "Too much contention"). */
const TRANSIENT_STORE_CODES = new Set([8, 10]);

export function isTransientStoreError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && TRANSIENT_STORE_CODES.has(code) && !(error instanceof AppError);
}

/** A failure worth retrying later as is: store contention, or any 503 the platform raised (warehouse busy or unavailable). */
export function isTransient(error: unknown): boolean {
  return isTransientStoreError(error) || error instanceof StoreBusyError || (error instanceof AppError && error.status === 503);
}

/** Thrown at start-up; never reaches a caller. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
