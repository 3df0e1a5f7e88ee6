export { TsiClient, TERMINAL_STATUSES, type ClientOptions, type RequestOptions, type WaitOptions } from './client.js';
export { ApiError, UnreachableError, UnexpectedResponseError, type Problem } from './errors.js';
export { googleIdToken, localToken, staticToken, type TokenProvider } from './auth.js';
export { DEFAULT_RETRY, retryDelay, parseRetryAfter, type RetryPolicy } from './retry.js';
export type * from './types.js';
