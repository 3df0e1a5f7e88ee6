import { ZodError } from 'zod';
import { AppError, StoreBusyError, ValidationError, isTransientStoreError } from './errors.js';

export const PROBLEM_BASE = 'https://tsi.dev/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  request_id?: string;
  [key: string]: unknown;
}

/** zod issues → our ValidationError, with paths callers can act on. */
export function fromZod(error: ZodError, where = 'body'): ValidationError {
  const errors = error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const first = errors[0];
  return new ValidationError(first ? `${first.path}: ${first.message}` : 'Invalid input.', errors);
}

/**
 * The single error mapper: any thrown value → RFC 9457 problem + headers. Unknown errors become a
 * generic 500 without internal detail; the caller logs the original.
 */
export function toProblem(error: unknown, requestId?: string): { problem: Problem; headers: Record<string, string>; known: boolean } {
  // Store contention (ABORTED after the client's retries, RESOURCE_EXHAUSTED) is load, not a bug: 503 + Retry-After.
  const mapped = error instanceof ZodError ? fromZod(error) : isTransientStoreError(error) ? new StoreBusyError() : error;
  if (mapped instanceof AppError) {
    return {
      problem: {
        type: PROBLEM_BASE + mapped.type,
        title: mapped.title,
        status: mapped.status,
        ...(mapped.detail ? { detail: mapped.detail } : {}),
        ...mapped.extras,
        ...(requestId ? { request_id: requestId } : {}),
      },
      headers: mapped.headers,
      known: true,
    };
  }
  return {
    problem: {
      type: PROBLEM_BASE + 'internal',
      title: 'Internal error',
      status: 500,
      detail: 'Something went wrong on our side. Quote the request_id when reporting it.',
      ...(requestId ? { request_id: requestId } : {}),
    },
    headers: {},
    known: false,
  };
}
