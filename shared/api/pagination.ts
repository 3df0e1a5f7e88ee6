import { z } from 'zod';
import { ValidationError } from '../platform/errors.js';

/**
 * The one list convention: `page_size` (bounded) and an opaque `page_token` in; `items` and
 * `next_page_token` (null on the last page) out. Small admin collections (holds, erasure requests,
 * bindings, webhooks, flags, comments, dead letters) are read whole by their services and paged
 * here, keyed on a stable field; big ones (investigations, audit) page in their stores.
 */
export const MAX_PAGE_SIZE = 100;

export function pageQuery(defaultSize = 50, max = MAX_PAGE_SIZE) {
  return {
    page_size: z.coerce.number().int().min(1).max(max).default(defaultSize).describe(`Items per page (1-${max}).`),
    page_token: z.string().min(1).max(512).optional().describe('`next_page_token` of the previous page.'),
  };
}

export const PageQuerySchema = z.strictObject(pageQuery());

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_page_token: z.string().nullable() });
}

export interface Page<T> {
  items: T[];
  next_page_token: string | null;
}

/** One page of an in-memory list, in its given order; the token names the last key seen. */
export function paginate<T>(all: readonly T[], q: { page_size: number; page_token?: string | undefined }, key: (item: T) => string): Page<T> {
  let start = 0;
  if (q.page_token) {
    let last: string;
    try {
      last = (JSON.parse(Buffer.from(q.page_token, 'base64url').toString('utf8')) as { k: unknown }).k as string;
    } catch {
      last = '';
    }
    const at = typeof last === 'string' && last ? all.findIndex((i) => key(i) === last) : -1;
    if (at < 0) throw new ValidationError('query.page_token: not a page token of this list (or its item is gone); start again without it.', [{ path: 'query.page_token', message: 'invalid' }]);
    start = at + 1;
  }
  const items = all.slice(start, start + q.page_size);
  const more = start + q.page_size < all.length;
  const lastItem = items[items.length - 1];
  return { items, next_page_token: more && lastItem !== undefined ? Buffer.from(JSON.stringify({ k: key(lastItem) })).toString('base64url') : null };
}
