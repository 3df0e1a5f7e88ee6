/** What can go wrong calling the API, as three error classes a caller can branch on. */
export interface Problem {
  type?: string;
  title: string;
  status?: number;
  detail?: string;
  request_id?: string;
  errors?: { path?: string; message?: string }[];
  [key: string]: unknown;
}

/** The platform answered with an RFC 9457 problem (or an error status turned into one). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = 'ApiError';
  }

  /** The problem type's slug, e.g. `rate-limited`, `invalid-transition`, `precondition-failed`. */
  get code(): string | null {
    return this.problem.type?.split('/').pop() ?? null;
  }
}

/** No HTTP answer at all: connection refused, DNS failure, reset, timeout. */
export class UnreachableError extends Error {
  constructor(
    readonly baseUrl: string,
    /** errno-style code from the socket layer (ECONNREFUSED, ENOTFOUND, ...) or TIMEOUT. */
    readonly code: string | null,
  ) {
    super(`cannot reach ${baseUrl}${code ? ` (${code})` : ''}`);
    this.name = 'UnreachableError';
  }
}

/** An answer that is not what the API contract promises (a proxy page, an incompatible server). */
export class UnexpectedResponseError extends Error {
  override name = 'UnexpectedResponseError';
}
